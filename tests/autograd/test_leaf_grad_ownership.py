"""A leaf may keep a fresh gradient buffer as its ``.grad`` (no copy), but only when
no one else can see that buffer: hooks, a second leaf or a retained grad."""
import numpy as np

import autograd as torch
import autograd.nn.functional as F


def _conv_case():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 6, generator=g, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, generator=g, requires_grad=True)
    return x, w


def test_fresh_conv_grad_is_kept_and_later_accumulated_in_place():
    x, w = _conv_case()
    F.conv2d(x, w, padding=1).sum().backward()
    first = x.grad.numpy().copy()
    F.conv2d(x, w, padding=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_hook_that_keeps_the_grad_sees_it_unchanged_after_accumulation():
    x, w = _conv_case()
    seen = []
    x.register_hook(lambda g: seen.append(g))
    F.conv2d(x, w, padding=1).sum().backward()
    kept = seen[0].numpy().copy()
    F.conv2d(x, w, padding=1).sum().backward()
    np.testing.assert_array_equal(seen[0].numpy(), kept)
    np.testing.assert_allclose(x.grad.numpy(), 2 * kept, rtol=1e-6)


def test_grads_from_two_paths_into_one_leaf_are_summed():
    x, w = _conv_case()
    (F.conv2d(x, w, padding=1).sum() + 2 * F.conv2d(x, w, padding=1).sum()).backward()
    one = torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), x)[0]
    np.testing.assert_allclose(x.grad.numpy(), 3 * one.numpy(), rtol=1e-5)


def test_autograd_grad_result_is_not_shared_with_a_leaf_grad():
    x, w = _conv_case()
    y = F.conv2d(x, w, padding=1).sum()
    (gx,) = torch.autograd.grad(y, x, retain_graph=True)
    y.backward()
    x.grad.mul_(0)
    assert float(gx.abs().sum()) > 0


def test_retained_graph_backward_twice_accumulates():
    x, w = _conv_case()
    y = F.conv2d(x, w, padding=1).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_leaf_keeps_the_conv_kernel_output_without_a_copy(monkeypatch):
    from autograd.nn.functional import _conv

    made = []
    real = _conv.conv_backward

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        made.append(out[0])
        return out

    monkeypatch.setattr(_conv, "conv_backward", spy)
    x, w = _conv_case()
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad._data is made[0]
    x.grad = None
    x.register_hook(lambda g: g)  # a hook may keep the buffer: copy then
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad._data is not made[1]
