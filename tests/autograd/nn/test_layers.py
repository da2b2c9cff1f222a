"""Linear-type layers, activations, dropout and the small functional helpers.

Forward values against numpy formulas; gradcheck and gradgradcheck in float64
for inputs and weights.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import erf

import autograd
import autograd.nn as nn
import autograd.nn.functional as F
from _autograd_testutil import assert_close, check, leaf

A = autograd


def _np(t):
    return t.detach().numpy()


# -- Linear / Bilinear / LazyLinear / Embedding ------------------------------------
def test_linear_shapes_forward_and_params():
    m = nn.Linear(4, 3)
    assert m.weight.shape == (3, 4) and m.bias.shape == (3,)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    x = A.randn(2, 5, 4)
    y = m(x)
    assert y.shape == (2, 5, 3)
    assert_close(y, _np(x) @ _np(m.weight).T + _np(m.bias), atol=1e-5)
    assert nn.Linear(4, 3, bias=False).bias is None
    assert repr(m) == "Linear(in_features=4, out_features=3, bias=True)"
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        m(A.randn(2, 5))


def test_linear_gradcheck():
    x, w, b = leaf(2, 3, 4), leaf(5, 4, seed=1), leaf(5, seed=2)
    check(F.linear, x, w, b)
    check(lambda x, w: F.linear(x, w), leaf(3, 4, seed=3), w)
    check(lambda x, w: F.linear(x, w), leaf(4, seed=4), w)  # 1-D input


def test_bilinear():
    m = nn.Bilinear(3, 2, 4)
    assert m.weight.shape == (4, 3, 2)
    bound = 1 / math.sqrt(3)
    assert np.abs(_np(m.weight)).max() <= bound
    x1, x2 = A.randn(5, 3), A.randn(5, 2)
    ref = np.einsum("bi,kij,bj->bk", _np(x1), _np(m.weight), _np(x2)) + _np(m.bias)
    assert_close(m(x1, x2), ref, atol=1e-5)
    check(F.bilinear, leaf(2, 3), leaf(2, 2, seed=1), leaf(4, 3, 2, seed=2), leaf(4, seed=3))


def test_lazy_linear():
    m = nn.LazyLinear(3)
    assert "uninitialized" in repr(m)
    y = m(A.randn(2, 7))
    assert y.shape == (2, 3) and type(m) is nn.Linear and m.in_features == 7
    assert m.weight.shape == (3, 7) and np.abs(_np(m.weight)).max() <= 1 / math.sqrt(7)


def test_embedding_padding_idx():
    emb = nn.Embedding(6, 3, padding_idx=1)
    assert (_np(emb.weight)[1] == 0).all()
    idx = A.tensor([[0, 1, 1], [5, 0, 2]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    assert_close(out, _np(emb.weight)[_np(idx)])
    out.sum().backward()
    g = _np(emb.weight.grad)
    assert (g[1] == 0).all() and (g[0] == 2).all() and (g[5] == 1).all() and (g[3] == 0).all()
    w = leaf(5, 2)
    ids = A.tensor([3, 0, 3, 4])
    check(lambda w: F.embedding(ids, w), w)  # (the padding row is excluded on purpose)


def test_one_hot():
    out = F.one_hot(A.tensor([[0, 2], [1, 2]]), 4)
    assert out.dtype == A.int64 and out.shape == (2, 2, 4)
    assert out.numpy()[0, 1].tolist() == [0, 0, 1, 0]
    assert F.one_hot(A.tensor([0, 3])).shape == (2, 4)
    with pytest.raises(RuntimeError):
        F.one_hot(A.tensor([0, 5]), 3)


def test_normalize_cosine_pairwise():
    x, y = leaf(3, 4), leaf(3, 4, seed=1)
    xn, yn = _np(x), _np(y)
    assert_close(F.normalize(x, dim=1), xn / np.linalg.norm(xn, axis=1, keepdims=True))
    cos = (xn * yn).sum(1) / (np.linalg.norm(xn, axis=1) * np.linalg.norm(yn, axis=1))
    assert_close(F.cosine_similarity(x, y), cos)
    assert_close(F.pairwise_distance(x, y), np.linalg.norm(xn - yn + 1e-6, axis=1))
    check(lambda a: F.normalize(a, p=2, dim=0), x)
    check(F.cosine_similarity, x, y)
    check(F.pairwise_distance, x, y)


# -- activations ------------------------------------------------------------------
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805


def _sp(x, beta=1.0, th=20.0):
    return np.where(beta * x > th, x, np.log1p(np.exp(beta * x)) / beta)


def _sig(x):
    return 1 / (1 + np.exp(-x))


ACTS = [
    ("ReLU", nn.ReLU(), lambda x: np.maximum(x, 0)),
    ("ReLU6", nn.ReLU6(), lambda x: np.clip(x, 0, 6)),
    ("LeakyReLU", nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("ELU", nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    ("CELU", nn.CELU(0.5), lambda x: np.maximum(x, 0) + np.minimum(0, 0.5 * (np.exp(x / 0.5) - 1))),
    ("SELU", nn.SELU(), lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(x) - 1))),
    ("GELU", nn.GELU(), lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))),
    ("GELU_tanh", nn.GELU("tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    ("SiLU", nn.SiLU(), lambda x: x * _sig(x)),
    ("Mish", nn.Mish(), lambda x: x * np.tanh(_sp(x))),
    ("Sigmoid", nn.Sigmoid(), _sig),
    ("Tanh", nn.Tanh(), np.tanh),
    ("Hardtanh", nn.Hardtanh(-0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5)),
    ("Hardsigmoid", nn.Hardsigmoid(), lambda x: np.clip(x + 3, 0, 6) / 6),
    ("Hardswish", nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("Softplus", nn.Softplus(2.0, 3.0), lambda x: _sp(x, 2.0, 3.0)),
    ("Softsign", nn.Softsign(), lambda x: x / (1 + np.abs(x))),
    ("Softmax", nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    ("LogSoftmax", nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    ("Softmin", nn.Softmin(dim=1), lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
    ("Threshold", nn.Threshold(0.1, 20.0), lambda x: np.where(x > 0.1, x, 20.0)),
    ("LogSigmoid", nn.LogSigmoid(), lambda x: np.log(_sig(x))),
    ("Tanhshrink", nn.Tanhshrink(), lambda x: x - np.tanh(x)),
    ("Softshrink", nn.Softshrink(0.5), lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    ("Hardshrink", nn.Hardshrink(0.5), lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("GLU", nn.GLU(1), lambda x: x[:, :2] * _sig(x[:, 2:])),
    ("PReLU", nn.PReLU(), lambda x: np.where(x > 0, x, 0.25 * x)),
    ("PReLU_ch", nn.PReLU(4, init=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("RReLU_eval", nn.RReLU().eval(), lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2)),
]


@pytest.mark.parametrize("name, module, ref", ACTS, ids=[a[0] for a in ACTS])
def test_activation_forward_and_grads(name, module, ref):
    # values kept away from the kinks (0, +-0.5, +-3, thresholds) for finite differences
    rng = np.random.default_rng(0)
    mag = rng.uniform(0.15, 2.4, (2, 4, 3))
    mag = np.where(np.abs(mag - 0.5) < 0.08, mag + 0.2, mag)
    x = A.from_numpy(mag * rng.choice([-1.0, 1.0], mag.shape)).requires_grad_()
    module = module.double()
    assert_close(module(x), ref(_np(x)), atol=1e-10)
    params = [p for p in module.parameters()]
    check(lambda x, *ps: module(x), x, *params)


def test_activation_reprs_and_inplace():
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.PReLU(3)) == "PReLU(num_parameters=3)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    x = A.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]
    # in-place on a non-leaf inside a graph keeps gradients right
    w = A.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    h = w * 2
    F.leaky_relu(h, 0.1, inplace=True)
    h.sum().backward()
    assert w.grad.tolist() == pytest.approx([0.2, 2.0, 0.2])
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.relu(A.ones(2, requires_grad=True), inplace=True)


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(A.randn(2, 3))
    assert_close(y.sum(1), np.ones(2), atol=1e-6)
    assert nn.Softmax2d()(A.randn(2, 3, 4, 4)).sum(1).numpy() == pytest.approx(np.ones((2, 4, 4)))


def test_softplus_is_smooth_and_stable():
    x = A.tensor([-1000.0, 0.0, 1000.0], dtype=A.float64, requires_grad=True)
    y = F.softplus(x)
    assert np.isfinite(_np(y)).all() and _np(y)[1] == pytest.approx(math.log(2))
    (g,) = autograd.autograd.grad(y.sum(), x, create_graph=True)
    assert _np(g).tolist() == pytest.approx([0.0, 0.5, 1.0])
    (gg,) = autograd.autograd.grad(g.sum(), x)
    assert _np(gg)[1] == pytest.approx(0.25)
    check(lambda x: F.logsigmoid(x), leaf(5))


def test_prelu_functional_errors():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(A.randn(2, 3), A.ones(4))


# -- dropout ----------------------------------------------------------------------
def test_dropout_statistics_and_eval():
    A.manual_seed(0)
    m = nn.Dropout(0.3)
    x = A.ones(200, 100)
    y = _np(m(x))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    m.eval()
    assert m(x) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all() and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_same_mask():
    A.manual_seed(1)
    x = A.ones(50, 20, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), _np(y))


def test_dropout_seeded_reproducible():
    A.manual_seed(5)
    a = _np(F.dropout(A.ones(30), 0.5)).copy()
    A.manual_seed(5)
    b = _np(F.dropout(A.ones(30), 0.5))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls, shape, lead", [
    (nn.Dropout1d, (4, 6, 5), 2), (nn.Dropout1d, (6, 5), 1), (nn.Dropout2d, (4, 6, 3, 3), 2),
    (nn.Dropout2d, (6, 3, 3), 2),  # 3-D input to dropout2d is (N, C, L), as PyTorch (with a warning)
    (nn.Dropout3d, (2, 6, 2, 2, 2), 2), (nn.Dropout3d, (6, 2, 2, 2), 1)])
def test_channel_dropout_drops_whole_channels(cls, shape, lead):
    A.manual_seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = _np(cls(0.5)(A.ones(*shape)))
    per_channel = y.reshape(int(np.prod(shape[:lead])), -1)
    assert all(len(set(row.tolist())) == 1 for row in per_channel)
    assert set(np.unique(per_channel).tolist()) == {0.0, 2.0}


def test_alpha_dropout_keeps_moments():
    A.manual_seed(3)
    x = A.randn(400, 250)
    y = _np(F.alpha_dropout(x, 0.2, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert F.alpha_dropout(x, 0.2, training=False) is x
    assert nn.AlphaDropout(0.2).eval()(x) is x
