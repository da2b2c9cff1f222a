"""PyTorch tutorial snippets, run with ``import autograd as torch``, give PyTorch's answers."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import autograd as torch
from _autograd_testutil import assert_close


def test_polynomial_gradient_at_two():
    x = torch.tensor(2.0, requires_grad=True)
    y = x ** 2 + 3 * x + 1
    y.backward()
    assert x.grad.item() == 7.0
    assert x.grad.dtype == torch.float32
    assert repr(x.grad) == "tensor(7.)"


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[x < 0] = 0
        return grad_input


def test_custom_relu_function():
    x = torch.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = MyReLU.apply(x)
    assert y.tolist() == [0.0, 2.0, 0.0, 4.0]
    assert y.requires_grad and not y.is_leaf
    assert "MyReLU" in y.grad_fn.name()
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0, 4.0]


def test_custom_function_needs_input_grad_and_non_differentiable():
    seen = {}

    class ScaleArgmax(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, k):
            seen["needs"] = ctx.needs_input_grad
            ctx.save_for_backward(x, w)
            ctx.k = k
            idx = x.argmax()
            mask = (x > 0).float()
            ctx.mark_non_differentiable(mask)
            return x * w * k, mask, idx

        @staticmethod
        def backward(ctx, g, g_mask, g_idx):
            x, w = ctx.saved_tensors
            gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
            gw = g * x * ctx.k if ctx.needs_input_grad[1] else None
            return gx, gw, None

    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = torch.tensor([0.5, 0.5, 0.5])
    y, mask, idx = ScaleArgmax.apply(x, w, 2.0)
    assert seen["needs"] == (True, False, False)
    assert y.requires_grad and not mask.requires_grad and not idx.requires_grad
    assert mask.tolist() == [1.0, 0.0, 1.0] and idx.item() == 2
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    assert w.grad is None


def test_custom_function_gradcheck_double_backward():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2  # differentiable ops: double backward works

    x = torch.tensor([0.5, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Cube.apply, (x,))
    assert torch.autograd.gradgradcheck(Cube.apply, (x,))


def test_gradient_accumulation_doubles():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    assert_close(x.grad, first * 2)
    assert x.grad.tolist() == [4.0, 8.0]


def test_second_derivative_create_graph():
    x = torch.tensor([1.0, 2.0, -3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert g.requires_grad
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0, -18.0]
    # the same with backward(create_graph=True) then backward on the grad
    x2 = torch.tensor(2.0, requires_grad=True)
    (x2 ** 3).backward(create_graph=True)
    g2 = x2.grad
    x2.grad = None
    g2.backward()
    assert x2.grad.item() == 12.0


def test_third_derivative():
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    y = torch.sin(x) * x
    (d1,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(d1, x, create_graph=True)
    (d3,) = torch.autograd.grad(d2, x)
    v = 1.5
    assert abs(d3.item() - (-3 * np.sin(v) - v * np.cos(v))) < 1e-12


class Block:
    def __init__(self):
        torch.manual_seed(0)
        self.w1 = torch.randn(4, 8, requires_grad=True)
        self.w2 = torch.randn(8, 3, requires_grad=True)

    def __call__(self, x, scale=1.0):
        h = (x @ self.w1).tanh()
        keep = (torch.rand(*h.shape) > 0.3).float()  # dropout-like randomness inside
        return (h * keep / 0.7) @ self.w2 * scale

    def params(self):
        return [self.w1, self.w2]


def _grads_of(use_checkpoint):
    from autograd.utils.checkpoint import checkpoint
    block = Block()
    x = torch.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    torch.manual_seed(123)
    out = checkpoint(block, x, scale=2.0) if use_checkpoint else block(x, scale=2.0)
    (out ** 2).sum().backward()
    return out.detach().numpy(), [t.grad.numpy().copy() for t in [x] + block.params()]


def test_checkpoint_same_gradients_with_randomness():
    out_a, ga = _grads_of(False)
    out_b, gb = _grads_of(True)
    np.testing.assert_allclose(out_a, out_b)
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_checkpoint_keeps_rng_stream_and_no_graph_inside():
    from autograd.utils.checkpoint import checkpoint
    x = torch.randn(3, requires_grad=True)
    torch.manual_seed(7)
    y = checkpoint(lambda t: t * torch.rand(3), x)
    after_forward = torch.rand(1).item()
    torch.manual_seed(7)
    torch.rand(3)
    assert torch.rand(1).item() == after_forward
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == (3,)


def test_grad_allow_unused():
    x = torch.tensor(1.0, requires_grad=True)
    z = torch.tensor(2.0, requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        torch.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = torch.autograd.grad(y, [x, z], allow_unused=True)
    assert gx.item() == 3.0 and gz is None
    assert x.grad is None  # autograd.grad does not touch .grad


def test_grad_with_grad_outputs_and_multiple_outputs():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x ** 2
    gx, = torch.autograd.grad([a, b], x, grad_outputs=[torch.ones(2), torch.tensor([1.0, 0.5])])
    assert gx.tolist() == [4.0, 4.0]


def test_retain_grad_on_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h ** 2).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [18.0, 36.0]
    h2 = x * 2
    (h2 * 1).sum().backward()
    assert h2.grad is None  # non-leaf grads are not kept by default


def test_register_hook_leaf_and_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 3
    handle = h.register_hook(lambda g: g * 10)  # modifies the gradient flowing on
    h.sum().backward()
    assert x.grad.tolist() == [30.0, 30.0]
    assert seen == [[30.0, 30.0]]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_leaf_hook_modifies_grad():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    x.register_hook(lambda g: g.clamp(min=0))
    (x * torch.tensor([1.0, -1.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0]


def test_no_grad_enable_grad_set_grad_enabled():
    x = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
        with torch.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()


def test_grad_mode_decorators():
    x = torch.tensor([1.0], requires_grad=True)

    @torch.no_grad()
    def f1(t):
        return t * 2

    @torch.no_grad
    def f2(t):
        return t * 2

    @torch.set_grad_enabled(False)
    def f3(t):
        return t * 2

    @torch.enable_grad()
    def f4(t):
        return t * 2

    assert torch.is_grad_enabled()  # building the decorators changed nothing
    assert not f1(x).requires_grad and not f2(x).requires_grad and not f3(x).requires_grad
    with torch.no_grad():
        assert f4(x).requires_grad
    assert torch.is_grad_enabled()
    assert f1.__name__ == "f1"


def test_grad_mode_is_thread_local():
    started, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with torch.no_grad():
            seen["worker"] = torch.is_grad_enabled()
            started.set()
            release.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    started.wait(5)
    x = torch.tensor([1.0], requires_grad=True)
    y = x * 2  # the worker's no_grad must not affect this thread
    release.set()
    t.join()
    assert seen["worker"] is False
    assert torch.is_grad_enabled() and y.requires_grad


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad,name", [
    (lambda x: torch.sqrt(x * 0) * 0, "Sqrt"),
    (lambda x: (x * 0) / (x * 0), "Div"),
])
def test_detect_anomaly_names_the_op(bad, name):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        y = bad(x).sum()
        with pytest.raises(RuntimeError, match=rf"Function '{name}\w*' returned nan"):
            y.backward()
    # without anomaly mode the nan just propagates
    x.grad = None
    bad(x).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


def test_long_chain_backward_without_recursion():
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_leaf_grad_accumulates_until_zeroed():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (w * 2).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]
    w.grad.zero_()
    (w * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]
    w.grad = None
    (w * 5).sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


def test_inplace_leaf_update_under_no_grad():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    (a ** 2).sum().backward()
    lr = 0.1
    with torch.no_grad():
        a -= lr * a.grad
    assert a.is_leaf and a.requires_grad and a.grad_fn is None
    np.testing.assert_allclose(a.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    with torch.no_grad():
        a.mul_(2).add_(1)
        a.grad.zero_()
    np.testing.assert_allclose(a.detach().numpy(), [2.6, 4.2], rtol=1e-6)
    (a * 1).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_data_shares_memory_and_detach():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d[0] = 10.0
    assert x[0].item() == 10.0
    det = x.detach()
    assert not det.requires_grad and det.grad_fn is None
    det[1] = 20.0
    assert x.tolist() == [10.0, 20.0]
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad


def test_polynomial_fit_tutorial_converges():
    import math
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    torch.manual_seed(0)
    a = torch.randn((), dtype=dtype, requires_grad=True)
    b = torch.randn((), dtype=dtype, requires_grad=True)
    c = torch.randn((), dtype=dtype, requires_grad=True)
    d = torch.randn((), dtype=dtype, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(2000):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    assert loss.dtype == torch.float32 and a.dtype == torch.float32
    assert losses[-1] < losses[0] / 10
    assert losses[-1] < 50  # PyTorch's tutorial reaches ~9 after 2000 steps
    # the fit approaches sin(x) ~ x - x^3/6 on [-pi, pi]
    assert 0.6 < b.item() < 1.0 and -0.12 < d.item() < -0.07
