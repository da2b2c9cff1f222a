"""nn.init: PyTorch's formulas for bounds and standard deviations, seeding, dtypes, no graph."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
import autograd.nn as nn
from autograd.nn import init


def _t(*shape, dtype=autograd.float32):
    return autograd.empty(*shape, dtype=dtype)


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2.0)),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))), ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)),
    ("leaky_relu", 0, math.sqrt(2.0)), ("selu", None, 0.75),
])
def test_calculate_gain(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fan_in_fan_out():
    assert init._calculate_fan_in_and_fan_out(_t(8, 3, 5, 5)) == (75, 200)
    assert init._calculate_fan_in_and_fan_out(_t(4, 6)) == (6, 4)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_t(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(_t(3, 3), mode="fan_avg")


def test_uniform_normal_constant():
    autograd.manual_seed(0)
    w = init.uniform_(_t(200, 100), -0.3, 0.7)
    d = w.numpy()
    assert d.min() >= -0.3 and d.max() <= 0.7 and abs(d.mean() - 0.2) < 0.01
    w = init.normal_(_t(200, 100), 1.5, 0.5)
    assert abs(w.numpy().mean() - 1.5) < 0.01 and abs(w.numpy().std() - 0.5) < 0.01
    assert (init.constant_(_t(3, 4), 2.5).numpy() == 2.5).all()
    assert (init.zeros_(_t(3)).numpy() == 0).all() and (init.ones_(_t(3)).numpy() == 1).all()


@pytest.mark.parametrize("shape", [(64, 300), (32, 16, 3, 3)])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlin, a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.1)])
def test_kaiming(shape, mode, nonlin, a):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(_t(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = init.calculate_gain(nonlin, a) / math.sqrt(fan)
    autograd.manual_seed(1)
    u = init.kaiming_uniform_(_t(*shape), a=a, mode=mode, nonlinearity=nonlin).numpy()
    bound = math.sqrt(3.0) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.97 * bound
    assert u.std() == pytest.approx(std, rel=0.05)
    n = init.kaiming_normal_(_t(*shape), a=a, mode=mode, nonlinearity=nonlin).numpy()
    assert n.std() == pytest.approx(std, rel=0.05) and abs(n.mean()) < 0.1 * std


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(gain):
    autograd.manual_seed(2)
    shape = (40, 20, 3, 3)
    fan_in, fan_out = 180, 360
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    u = init.xavier_uniform_(_t(*shape), gain=gain).numpy()
    assert np.abs(u).max() <= math.sqrt(3) * std and u.std() == pytest.approx(std, rel=0.05)
    n = init.xavier_normal_(_t(*shape), gain=gain).numpy()
    assert n.std() == pytest.approx(std, rel=0.05)


def test_trunc_normal():
    autograd.manual_seed(3)
    w = init.trunc_normal_(_t(100, 100), mean=0.5, std=1.0, a=-1.0, b=1.5).numpy()
    assert w.min() >= -1.0 and w.max() <= 1.5
    # truncated N(0.5, 1) on [-1, 1.5]: mean = 0.5 + (phi(alpha) - phi(beta)) / Z
    from scipy.stats import truncnorm
    ref = truncnorm(-1.5, 1.0, loc=0.5, scale=1.0)
    assert w.mean() == pytest.approx(ref.mean(), abs=0.02)
    assert w.std() == pytest.approx(ref.std(), abs=0.02)


def test_orthogonal_eye_dirac():
    autograd.manual_seed(4)
    for shape in [(6, 4), (4, 6), (5, 2, 3)]:
        w = init.orthogonal_(_t(*shape, dtype=autograd.float64), gain=2.0).numpy().reshape(shape[0], -1)
        small = w @ w.T if shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-10)
    np.testing.assert_array_equal(init.eye_(_t(3, 5)).numpy(), np.eye(3, 5))
    d = init.dirac_(_t(4, 2, 3, 3), groups=2).numpy()
    assert d.sum() == 4 and d[0, 0, 1, 1] == 1 and d[1, 1, 1, 1] == 1 and d[2, 0, 1, 1] == 1
    with pytest.raises(ValueError):
        init.eye_(_t(3))


def test_sparse():
    autograd.manual_seed(5)
    w = init.sparse_(_t(10, 6), sparsity=0.3).numpy()
    assert ((w == 0).sum(axis=0) >= 3).all()


def test_seeded_reproducible_and_generator():
    autograd.manual_seed(7)
    a = init.kaiming_uniform_(_t(5, 5)).numpy().copy()
    autograd.manual_seed(7)
    b = init.kaiming_uniform_(_t(5, 5)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    g1 = autograd.Generator().manual_seed(11)
    g2 = autograd.Generator().manual_seed(11)
    np.testing.assert_array_equal(init.normal_(_t(4), generator=g1).numpy(),
                                  init.normal_(_t(4), generator=g2).numpy())
    autograd.manual_seed(9)
    m1 = nn.Linear(4, 3)
    autograd.manual_seed(9)
    m2 = nn.Linear(4, 3)
    np.testing.assert_array_equal(m1.weight.detach().numpy(), m2.weight.detach().numpy())


@pytest.mark.parametrize("dtype", [autograd.float32, autograd.float64])
def test_dtype_kept_and_no_graph(dtype):
    p = nn.Parameter(autograd.zeros(4, 5, dtype=dtype))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_, init.trunc_normal_):
        out = fn(p)
        assert out is p and p.dtype == dtype and p.is_leaf and p.grad_fn is None and p.requires_grad


def test_linear_default_init_bounds():
    autograd.manual_seed(0)
    m = nn.Linear(50, 400)
    bound = 1 / math.sqrt(50)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and w.dtype == np.float32


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning):
        init.xavier_uniform(_t(3, 3))
