"""The backward engine: graph walking, accumulation, retain_graph, in-place ops, hooks."""
from __future__ import annotations

import gc
import weakref

import pytest

import autograd as torch
from autograd._node import AccumulateGrad
from _autograd_testutil import assert_close, leaf


def test_diamond_graph_sums_both_paths():
    x = torch.tensor(3.0, requires_grad=True)
    a = x * 2
    b = a * a      # a used twice
    c = a + b
    c.backward()
    # c = 2x + 4x^2 -> dc/dx = 2 + 8x
    assert x.grad.item() == 26.0


def test_same_tensor_both_operands():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, -4.0]
    x.grad = None
    (x / x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    ((x - x).sum() + x @ x).backward()
    assert x.grad.tolist() == [2.0, -4.0]


def test_broadcast_gradient_reduced_to_input_shape():
    a = torch.ones(3, 1, 4, requires_grad=True)
    b = torch.ones(2, 4, requires_grad=True)
    s = torch.ones((), requires_grad=True)
    (a * b + s).sum().backward()
    assert a.grad.shape == (3, 1, 4) and (a.grad.numpy() == 2).all()
    assert b.grad.shape == (2, 4) and (b.grad.numpy() == 3).all()
    assert s.grad.shape == () and s.grad.item() == 24


def test_next_functions_structure():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    c = torch.tensor([1.0, 1.0])
    y = x * w + c
    assert y.grad_fn.name() == "AddBackward0"
    (mul_edge, const_edge) = y.grad_fn.next_functions
    assert const_edge[0] is None
    mul = mul_edge[0]
    assert mul.name() == "MulBackward0"
    accs = [n for n, _ in mul.next_functions]
    assert all(isinstance(n, AccumulateGrad) for n in accs)
    assert accs[0].variable is x and accs[1].variable is w
    # the same leaf always maps to the same AccumulateGrad while the graph is alive
    z = x * 2
    assert z.grad_fn.next_functions[0][0] is accs[0]
    assert x.grad_fn is None and x.is_leaf and not y.is_leaf


def test_multi_output_op_edges_output_nr():
    x = torch.arange(6.0).reshape(2, 3).requires_grad_()
    a, b = x.split([1, 2], 1)
    (a.sum() * 2 + b.sum() * 3).backward()
    assert x.grad.tolist() == [[2.0, 3.0, 3.0], [2.0, 3.0, 3.0]]


def test_backward_with_gradient_argument():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(torch.tensor([1.0, 0.1, 0.01]))
    assert_close(x.grad, [2.0, 0.2, 0.02])


def test_backward_inputs_argument_only_accumulates_given():
    x = torch.tensor(1.0, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    (x * w).backward(inputs=[w])
    assert w.grad.item() == 1.0 and x.grad is None


def test_autograd_backward_function_multiple_roots():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    torch.autograd.backward([x.sum(), (x * 3).sum()])
    assert x.grad.tolist() == [4.0, 4.0]


def test_grad_wrt_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h ** 2).sum()
    gh, gx = torch.autograd.grad(y, [h, x])
    assert gh.tolist() == [4.0, 8.0] and gx.tolist() == [8.0, 16.0]


def test_retain_graph_allows_second_backward():
    x = torch.tensor(2.0, requires_grad=True)
    y = x.exp() * x
    y.backward(retain_graph=True)
    g1 = x.grad.item()
    y.backward()
    assert abs(x.grad.item() - 2 * g1) < 1e-5


def test_create_graph_grad_of_grad_accumulates_graph():
    x = torch.tensor(3.0, requires_grad=True)
    y = x ** 4
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    assert g.grad_fn is not None
    g.backward()
    assert x.grad.item() == 12 * 9  # d2/dx2 x^4 = 12 x^2


def test_grad_does_not_leak_into_leaf_grad_with_create_graph():
    x = torch.tensor(1.5, requires_grad=True)
    y = x ** 2
    y.backward(create_graph=True)
    assert x.grad.requires_grad  # the grad is itself differentiable
    assert abs(x.grad.item() - 3.0) < 1e-6


def test_graph_freed_after_backward_releases_saved():
    x = torch.randn(100, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        node.backward(torch.ones(100))


def test_graph_is_collected_when_outputs_die():
    x = torch.randn(10, requires_grad=True)
    y = (x * 2).exp()
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None


def test_inplace_on_non_leaf_is_differentiable():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(x)           # y = (2x + 1) * x
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 9.0]  # 4x + 1


def test_inplace_ops_bump_version():
    x = torch.zeros(3)
    v0 = x._version[0]
    x.add_(1)
    x[0] = 5
    x.zero_()
    assert x._version[0] == v0 + 3


def test_view_shares_version_with_base():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    z = y.exp()  # saves its output y.exp(); y itself used by view
    w = v * v    # saves v
    v.mul_(2)    # also modifies y
    assert y.tolist() == [1.0, 4.0, 6.0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()
    z.sum().backward()  # exp saved its own output, which was not modified


def test_setitem_through_view_updates_base_gradient():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    y[0, 1] = 0.0
    y[1] *= 3
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [3.0, 3.0]]


def test_hooks_on_node():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append((gi[0].tolist(), go[0].tolist())))
    y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    assert seen == [([6.0, 6.0], [2.0, 2.0])]


def test_accumulate_grad_dtype_stays_float32():
    w = torch.ones(3, requires_grad=True)
    (w * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert w.grad.dtype == torch.float32
    (w * 2).sum().backward()
    assert w.grad.dtype == torch.float32 and w.grad.tolist() == [3.0, 4.0, 5.0]


def test_leaf_grad_is_owned_not_aliased():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()  # the same gradient object reaches both leaves
    x.grad.add_(10)
    assert y.grad.tolist() == [1.0, 1.0]


def test_no_grad_results_and_requires_grad_propagation():
    x = torch.tensor([1.0], requires_grad=True)
    c = torch.tensor([2.0])
    assert not (c * 2).requires_grad
    assert (c * x).requires_grad
    with torch.no_grad():
        assert not (c * x).requires_grad
    assert not x.detach().requires_grad
    # integer / comparison results never require grad
    assert not (x > 0).requires_grad
    assert not x.argmax().requires_grad


def test_inference_mode():
    x = torch.tensor([1.0], requires_grad=True)
    with torch.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_gradcheck_detects_wrong_backward():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2x

    x = leaf(3)
    with pytest.raises(torch.autograd.GradcheckError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(Wrong.apply, (x,))
    assert torch.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_detects_non_differentiable_backward():
    class ConstBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.tensor(3 * x.detach().numpy() ** 2)  # detached: no second derivative

    x = leaf(3)
    assert torch.autograd.gradcheck(ConstBackward.apply, (x,))
    assert not torch.autograd.gradgradcheck(ConstBackward.apply, (x,), raise_exception=False)


def test_checkpoint_sequential_and_parameters_inside():
    from autograd.utils.checkpoint import checkpoint
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = torch.tensor([[0.5, -1.0]], requires_grad=True)

    def f(t):
        return (t @ w).tanh() @ w

    ref = f(x).sum()
    ref.backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    out = checkpoint(f, x)
    assert out.requires_grad and out.grad_fn is not None
    out.sum().backward()
    assert_close(x.grad, gx)
    assert_close(w.grad, gw)


def test_checkpoint_multiple_outputs():
    from autograd.utils.checkpoint import checkpoint
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = checkpoint(lambda t: (t * 2, t ** 2), x)
    (a.sum() + b.sum()).backward()
    assert x.grad.tolist() == [4.0, 6.0]


def test_deep_graph_through_autograd_grad():
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + 0.0
    (g,) = torch.autograd.grad(y, x)
    assert g.item() == 1.0


def test_backward_does_not_change_grad_mode():
    x = torch.tensor(1.0, requires_grad=True)
    (x * 2).backward()
    assert torch.is_grad_enabled()
    with torch.no_grad():
        y = torch.tensor(1.0, requires_grad=True)
    (y * y).backward(create_graph=True)
    assert torch.is_grad_enabled()


def test_clone_is_differentiable_and_copies():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None
    with torch.no_grad():
        c.detach()[0] = 100.0
    assert x[0].item() == 1.0
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_to_dtype_backward_casts_grad_back():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == torch.float64 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == torch.float32 and x.grad.tolist() == [2.0, 2.0]
    assert not x.long().requires_grad


def test_zero_size_tensors():
    x = torch.zeros(0, 3, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    assert x.grad.shape == (0, 3)
    assert y.item() == 0.0


def test_leaf_hook_applies_to_autograd_grad_and_backward_inputs():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    assert torch.autograd.grad((x * 3).sum(), x)[0].tolist() == [30.0, 30.0]
    (x * 3).sum().backward(inputs=[x])
    assert x.grad.tolist() == [30.0, 30.0]
    (x * 3).sum().backward()
    assert x.grad.tolist() == [60.0, 60.0]


def test_inplace_on_view_updates_base_graph():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[1:].mul_(2)
    assert y.tolist() == [1.0, 4.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 2.0]


def test_inplace_on_view_of_buffer_makes_base_require_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    buf = torch.zeros(3)
    buf[:2].add_(w)
    assert buf.requires_grad and buf.grad_fn is not None
    (buf * buf).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]


def test_view_sees_later_inplace_change_of_its_base():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[:2]
    y.mul_(3)
    assert v.tolist() == [3.0, 6.0]
    v.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 0.0]


def test_views_made_under_no_grad_stay_constant():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        wt = w[:1]
        w.mul_(2)
    assert not (wt * 2).requires_grad


def test_copy_and_fill_on_non_leaf():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    buf = torch.full((2, 3), float("inf"))
    buf.copy_(w)  # broadcast; old inf values must not leak (no inf * 0)
    assert buf.tolist() == [[1.0, 2.0, 3.0]] * 2 and buf.requires_grad
    (buf * buf).sum().backward()
    assert w.grad.tolist() == [4.0, 8.0, 12.0]
    s = torch.tensor(2.0, requires_grad=True)
    y = w * 1
    y.fill_(s)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert s.grad.item() == 6.0
    z = w.exp()
    z.zero_()
    assert z.tolist() == [0.0, 0.0, 0.0] and z.requires_grad
