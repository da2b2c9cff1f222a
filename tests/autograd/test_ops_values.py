"""Op values that gradcheck cannot see: ties, zeros, stability, dtypes, and agreement with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd.ops import _unary as U
from _autograd_testutil import check, leaf, pos  # noqa: F401

A = autograd

# -- specific values ----------------------------------------------------------

def test_maximum_minimum_ties_split_gradient():
    a = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = A.tensor([1.0, 3.0, 3.0], requires_grad=True)
    A.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 0.5]
    assert b.grad.tolist() == [0.5, 1.0, 0.5]
    a.grad = b.grad = None
    A.minimum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0, 0.5]
    assert b.grad.tolist() == [0.5, 0.0, 0.5]


def test_max_ties_gradient_evenly_distributed():
    x = A.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0]


def test_max_dim_returns_named_tuple():
    x = A.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    r = x.max(1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    values, indices = A.min(x, dim=0, keepdim=True)
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 0]]
    assert indices.dtype == A.int64
    r.values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_prod_zero_gradient_values():
    x = A.tensor([0.0, 2.0, 3.0], requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [6.0, 0.0, 0.0]
    y = A.tensor([0.0, 2.0, 0.0], requires_grad=True)
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0]


def test_pad_reflect_and_replicate_add_border_gradients():
    x = A.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    A.ops._shape.pad(x, (2, 2), mode="reflect").sum().backward()
    # reflect pads [3, 2 | 1 2 3 4 | 3, 2] -> elements 2 and 3 get counted twice
    assert x.grad.tolist() == [[1.0, 3.0, 3.0, 1.0]]
    x.grad = None
    A.ops._shape.pad(x, (2, 1), mode="replicate").sum().backward()
    assert x.grad.tolist() == [[3.0, 1.0, 1.0, 2.0]]
    x.grad = None
    A.ops._shape.pad(x, (1, 2), mode="circular").sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0, 1.0, 2.0]]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_zero_base_zero_exponent_gradient():
    a = A.tensor([0.0, 2.0, 0.0], requires_grad=True)
    b = A.tensor([0.0, 0.0, 1.0], requires_grad=True)
    (a ** b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 1.0]
    assert b.grad.tolist()[1] == pytest.approx(np.log(2.0))


def test_index_with_duplicates_accumulates():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_setitem_on_non_leaf_gradients():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = A.tensor(5.0, requires_grad=True)
    y = x * 2
    y[1] = v
    (y * A.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 200.0]
    assert v.grad.item() == 10.0
    assert y.tolist() == [2.0, 5.0, 6.0]


def test_softmax_rows_sum_to_one_and_gradient_zero():
    x = leaf(3, 4, low=-5, high=5)
    y = A.softmax(x, -1)
    np.testing.assert_allclose(y.sum(-1).detach().numpy(), 1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-12)


def test_logsumexp_large_values_stable():
    x = A.tensor([1000.0, 1000.0], requires_grad=True)
    y = A.logsumexp(x, 0)
    assert abs(y.item() - (1000 + np.log(2))) < 1e-3
    y.backward()
    assert x.grad.tolist() == [0.5, 0.5]


def test_norm_zero_vector_gradient_is_zero():
    x = A.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("op", [A.exp, A.tanh, A.sigmoid, A.log1p, A.sqrt, A.gelu, U.softplus, U.silu,
                                lambda x: x.softmax(-1), lambda x: x.log_softmax(-1),
                                lambda x: x.norm(), lambda x: x.var(), lambda x: x.prod(),
                                lambda x: A.logsumexp(x, 0), lambda x: x ** 2.5, lambda x: 2 ** x,
                                lambda x: 1 / x, lambda x: x.cumsum(0), lambda x: A.einsum("i,i->", x, x)])
def test_float32_stays_float32(op):
    x = A.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = op(x)
    assert y.dtype == A.float32
    y.sum().backward()
    assert x.grad.dtype == A.float32


# -- same values and gradients as PyTorch (when it is installed) --------------
TORCH_EXPRS = [
    "a + b", "a - b", "a * b", "a / (b.abs() + 0.5)", "(a.abs() + 0.5) ** b", "2 ** a", "1 / (a.abs() + .5)",
    "3 - a", "a ** 3", "a.abs()", "a.exp()", "(a.abs() + .1).log()", "a.abs().log1p()", "(a.abs() + .1).sqrt()",
    "(a.abs() + .1).rsqrt()", "a.sin() + a.cos()", "a.tanh()", "a.sigmoid()", "T.relu(a)",
    "F.leaky_relu(a, 0.2)", "F.gelu(a)", "F.gelu(a, approximate='tanh')", "F.softplus(a * 3)",
    "F.softplus(a * 3, beta=2, threshold=1.5)", "F.elu(a, alpha=0.7)", "F.silu(a)", "a.clamp(min=-0.3)",
    "a.clamp(max=0.2)", "a.clamp(-0.3, 0.2)", "T.maximum(a, b)", "T.minimum(a, b)", "T.where(a > 0, a, b)",
    "T.deg2rad(a)", "a.sum()", "a.sum(1)", "a.mean((0, 2), keepdim=True)", "a.prod(1)", "a.var()",
    "a.var(1, correction=0)", "a.std(0, unbiased=True)", "a.std(correction=0)", "a.amax(1)", "a.amin((0, 1))",
    "a.max()", "a.min(2).values", "a.max(1, keepdim=True)[0]", "T.logsumexp(a, 1)", "a.softmax(-1)",
    "a.log_softmax(0)", "a.cumsum(2)", "a.norm()", "a.norm(p=1)", "a.norm(p=float('inf'))", "a.norm(dim=1)",
    "a.norm(p=3, dim=0, keepdim=True)", "a.reshape(6, 4)", "a.flatten(1)", "a.unsqueeze(1).squeeze()",
    "a.permute(2, 0, 1)", "a.transpose(0, 2)", "a[:, :1].expand(2, 3, 4)", "a.repeat(1, 2, 1)",
    "T.cat([a, b], 1)", "T.stack([a, b], -1)", "a.split(2, 2)[1]", "a.chunk(2, 1)[1]", "a.flip(0, 2)",
    "a.roll((1, -1), (1, 2))", "a.roll(3)", "F.pad(a, (1, 2, 2, 1), value=0.5)", "F.pad(a, (2, 1, 1, 2), mode='reflect')",
    "F.pad(a, (2, 3, 1, 0), mode='replicate')", "F.pad(a, (1, 2, 2, 1), mode='circular')", "a[1, ::2, None, ..., 1:]",
    "a[[0, 1, 0]]", "a[:, [2, 2, 0], [1, 1, 3]]", "a[a > 0]", "a.gather(2, I)", "a.index_select(1, T.tensor([2, 0, 2]))",
    "a @ b.transpose(1, 2)", "a[0] @ b[0, 0]", "b[0, 0] @ a[0].t()", "a[0, 0] @ b[0, 0]", "T.einsum('bij,bkj->bik', a, b)",
    "T.einsum('ijk,j->i', a, b[0, :, 0])", "T.einsum('...j,kj->...k', a, b[0])", "T.outer(a[0, 0], b[0, 1])",
    "a[0].t()", "a.mT", "a[0].T", "T.dot(a[0, 0], b[1, 1])",
]


@pytest.mark.parametrize("expr", TORCH_EXPRS)
def test_matches_pytorch(expr):
    torch = pytest.importorskip("torch")
    import types
    F_ours = types.SimpleNamespace(leaky_relu=A.leaky_relu, gelu=A.gelu, softplus=U.softplus, elu=U.elu,
                                   silu=U.silu, pad=A.ops._shape.pad)
    rng = np.random.default_rng(abs(hash(expr)) % 2**32)
    a0 = rng.uniform(-1, 1, (2, 3, 4)).astype(np.float32)
    b0 = rng.uniform(-1, 1, (2, 3, 4)).astype(np.float32)
    i0 = rng.integers(0, 4, (2, 3, 2))
    results = []
    for T, F in ((A, F_ours), (torch, torch.nn.functional)):
        a = T.tensor(a0, requires_grad=True)
        b = T.tensor(b0, requires_grad=True)
        out = eval(expr, {"T": T, "F": F, "a": a, "b": b, "I": T.tensor(i0), "float": float})
        w = T.tensor(np.random.default_rng(1).uniform(-1, 1, tuple(out.shape)).astype(np.float32))
        (out * w).sum().backward()
        grads = [np.zeros_like(a0) if t.grad is None else t.grad.numpy() for t in (a, b)]
        results.append((out.detach().numpy(), str(out.dtype).replace("torch.", ""), grads))
    (o1, d1, g1), (o2, d2, g2) = results
    assert d1 == d2 == "float32"
    np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-5)
    for x, y in zip(g1, g2):
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def test_ieee_special_values_without_numpy_warnings():
    """log(0), x/0, sqrt(-1), exp overflow: inf/nan values and no RuntimeWarning, as in torch."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = A.tensor([0.0, -1.0, 4.0], requires_grad=True)
        np.testing.assert_array_equal(x.log().detach().numpy(), [-np.inf, np.nan, np.log(np.float32(4))])
        assert np.isnan(x.sqrt().detach().numpy()[1]) and np.isnan(x.rsqrt().detach().numpy()[1])
        np.testing.assert_array_equal((A.tensor([1.0, 0.0]) / A.tensor([0.0, 0.0])).numpy(), [np.inf, np.nan])
        assert np.isinf(A.tensor([1000.0]).exp().numpy()[0])
        assert np.isnan((x ** 0.5).detach().numpy()[1]) and np.isinf((2.0 ** A.tensor([1e4])).numpy()[0])
        x.log().sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [np.inf, -1.0, 0.25])
