"""Normalisation layers: values against numpy, running statistics, eval mode, gradients."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F
from _autograd_testutil import assert_close, check, leaf

A = autograd


def _np(t):
    return t.detach().numpy()


def _bn_ref(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                        (nn.BatchNorm2d, (4, 3, 5, 2)), (nn.BatchNorm3d, (2, 3, 2, 3, 2))])
def test_batchnorm_train_forward_and_running_stats(cls, shape):
    rng = np.random.default_rng(0)
    bn = cls(3, momentum=0.2)
    bn.weight.data.copy_(A.tensor([1.5, 0.5, -1.0]))
    bn.bias.data.copy_(A.tensor([0.1, 0.2, 0.3]))
    rm, rv = np.zeros(3), np.ones(3)
    axes = (0,) + tuple(range(2, len(shape)))
    n = int(np.prod([shape[a] for a in axes]))
    for step in range(3):
        x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
        y = bn(A.tensor(x))
        assert y.dtype == A.float32
        assert_close(y, _bn_ref(x.astype(np.float64), _np(bn.weight), _np(bn.bias)), atol=1e-4, rtol=1e-4)
        rm = 0.8 * rm + 0.2 * x.mean(axes)
        rv = 0.8 * rv + 0.2 * x.var(axes) * n / (n - 1)  # unbiased for the running estimate
        assert_close(bn.running_mean, rm, atol=1e-5, rtol=1e-5)
        assert_close(bn.running_var, rv, atol=1e-5, rtol=1e-5)
        assert int(bn.num_batches_tracked) == step + 1
    bn.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    cs = (1, -1) + (1,) * (len(shape) - 2)
    ref = (x - rm.reshape(cs)) / np.sqrt(rv.reshape(cs) + 1e-5) * _np(bn.weight).reshape(cs) \
        + _np(bn.bias).reshape(cs)
    assert_close(bn(A.tensor(x)), ref, atol=1e-5, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 3  # eval mode leaves the statistics alone
    assert_close(bn.running_mean, rm, atol=1e-5, rtol=1e-5)


def test_batchnorm_momentum_none_is_cumulative_average():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [rng.standard_normal((8, 2)) for _ in range(4)]
    for x in xs:
        bn(A.tensor(x, dtype=A.float32))
    assert_close(bn.running_mean, np.mean([x.mean(0) for x in xs], axis=0), atol=1e-5)
    assert_close(bn.running_var, np.mean([x.var(0, ddof=1) for x in xs], axis=0), atol=1e-5)


def test_batchnorm_options():
    x = A.randn(5, 3, 4)
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert bn.weight is None and bn.running_mean is None and list(bn.parameters()) == []
    y = bn.eval()(x)  # no running stats: batch statistics even in eval mode
    assert_close(y, _bn_ref(_np(x).astype(np.float64), np.ones(3), np.zeros(3)), atol=1e-4)
    bn2 = nn.BatchNorm2d(3)
    assert [k for k in bn2.state_dict()] == ["weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked"]
    assert bn2.num_batches_tracked.dtype == A.int64
    assert repr(bn2) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    with pytest.raises(ValueError, match="expected 4D input"):
        bn2(x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(A.randn(1, 3))
    bn2.running_mean.fill_(5.0)
    bn2.reset_running_stats()
    assert (_np(bn2.running_mean) == 0).all()


def test_batchnorm_gradcheck_train_and_eval():
    x, w, b = leaf(3, 2, 2, 2), leaf(2, seed=1), leaf(2, seed=2)
    check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    check(lambda x: F.batch_norm(x, None, None, training=True), leaf(4, 3, seed=3))
    rm, rv = A.tensor([0.1, -0.2], dtype=A.float64), A.tensor([0.5, 2.0], dtype=A.float64)
    check(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), x, w, b)


def test_fused_backward_matches_graph_backward():
    """The numpy first-order backward equals the differentiable-ops one (create_graph)."""
    x, w, b = leaf(4, 3, 5), leaf(3, seed=1), leaf(3, seed=2)
    g = A.randn(4, 3, 5, dtype=A.float64)
    fast = autograd.autograd.grad(F.batch_norm(x, None, None, w, b, True), (x, w, b), g)
    slow = autograd.autograd.grad(F.batch_norm(x, None, None, w, b, True), (x, w, b), g,
                                  create_graph=True)
    for a, s in zip(fast, slow):
        assert_close(a, s, atol=1e-12)
    assert slow[0].requires_grad and slow[1].requires_grad  # (db = sum(g) is constant in x)


def test_batchnorm_float32_large_mean_is_accurate():
    x = (np.random.default_rng(2).standard_normal((16, 2, 8, 8)) * 0.01 + 100).astype(np.float32)
    y = _np(F.batch_norm(A.tensor(x), None, None, training=True))
    assert_close(y, _bn_ref(x.astype(np.float64), np.ones(2), np.zeros(2)), atol=2e-3)


def test_instance_norm():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    m = nn.InstanceNorm2d(3)
    assert m.weight is None and m.running_mean is None
    ref = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    assert_close(m(A.tensor(x)), ref, atol=1e-5)
    assert_close(m(A.tensor(x[0])), ref[0], atol=1e-5)  # unbatched (C, H, W)
    ma = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.5).double()
    x1 = rng.standard_normal((2, 3, 6))
    ma(A.tensor(x1))
    assert_close(ma.running_mean, 0.5 * x1.mean(2).mean(0), atol=1e-10)
    assert_close(ma.running_var, 0.5 + 0.5 * x1.var(2, ddof=1).mean(0), atol=1e-10)
    ma.eval()
    rm, rv = _np(ma.running_mean)[:, None], _np(ma.running_var)[:, None]
    assert_close(ma(A.tensor(x1)), (x1 - rm) / np.sqrt(rv + 1e-5), atol=1e-10)
    check(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), leaf(2, 2, 3), leaf(2, seed=1),
          leaf(2, seed=2))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        m(A.randn(2, 3))


def test_group_norm():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 3, 2))
    m = nn.GroupNorm(3, 6).double()
    m.weight.data.copy_(A.tensor(np.arange(1.0, 7.0)))
    m.bias.data.copy_(A.tensor(np.linspace(-1, 1, 6)))
    g = x.reshape(2, 3, -1)
    ref = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(x.shape)
    ref = ref * np.arange(1.0, 7.0)[:, None, None] + np.linspace(-1, 1, 6)[:, None, None]
    assert_close(m(A.tensor(x)), ref, atol=1e-10)
    assert repr(m) == "GroupNorm(3, 6, eps=1e-05, affine=True)"
    check(lambda x, w, b: F.group_norm(x, 2, w, b), leaf(2, 4, 3), leaf(4, seed=1), leaf(4, seed=2))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


def test_layer_norm_and_rms_norm():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5))
    m = nn.LayerNorm([4, 5]).double()
    assert m.weight.shape == (4, 5) and repr(m) == "LayerNorm((4, 5), eps=1e-05, elementwise_affine=True)"
    m.weight.data.copy_(A.tensor(rng.standard_normal((4, 5))))
    ref = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    assert_close(m(A.tensor(x)), ref * _np(m.weight) + _np(m.bias), atol=1e-10)
    assert nn.LayerNorm(5, bias=False).bias is None
    assert list(nn.LayerNorm(5, elementwise_affine=False).parameters()) == []
    check(lambda x, w, b: F.layer_norm(x, (3,), w, b), leaf(2, 3), leaf(3, seed=1), leaf(3, seed=2))
    r = nn.RMSNorm(5, eps=1e-6).double()
    assert_close(r(A.tensor(x)), x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6), atol=1e-10)
    check(lambda x, w: F.rms_norm(x, (3,), w, 1e-6), leaf(2, 3), leaf(3, seed=1))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        m(A.randn(2, 3))


def test_norm_layers_train_eval_propagate_in_model():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 2))
    model.eval()
    x = A.randn(3, 4)
    a, b = _np(model(x)), _np(model(x))
    np.testing.assert_array_equal(a, b)  # deterministic in eval
    assert int(model[1].num_batches_tracked) == 0
    model.train()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
