"""Pooling: max / avg / lp / adaptive / unpool against reference loops; ties; gradients."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F

RNG = np.random.default_rng(7)


def _tup(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _out_size(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def ref_max_pool(x, k, s=None, p=0, d=1, ceil=False):
    """First maximum of each window (row-major kernel order); returns values and flat indices."""
    nd = x.ndim - 2
    k = _tup(k, nd)
    s, p, d = _tup(s if s is not None else k, nd), _tup(p, nd), _tup(d, nd)
    S = x.shape[2:]
    O = [_out_size(S[i], k[i], s[i], p[i], d[i], ceil) for i in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(O))
    idx = np.zeros(out.shape, dtype=np.int64)
    for n, c in itertools.product(*[range(v) for v in x.shape[:2]]):
        for o in itertools.product(*[range(v) for v in O]):
            best, bi = -np.inf, -1
            for kk in itertools.product(*[range(v) for v in k]):
                q = [o[i] * s[i] - p[i] + kk[i] * d[i] for i in range(nd)]
                if all(0 <= q[i] < S[i] for i in range(nd)):
                    v = x[(n, c) + tuple(q)]
                    if v > best or bi < 0:
                        best, bi = v, int(np.ravel_multi_index(q, S))
            out[(n, c) + o], idx[(n, c) + o] = best, bi
    return out, idx


def ref_avg_pool(x, k, s=None, p=0, ceil=False, count_include_pad=True, divisor_override=None):
    nd = x.ndim - 2
    k = _tup(k, nd)
    s, p = _tup(s if s is not None else k, nd), _tup(p, nd)
    S = x.shape[2:]
    O = [_out_size(S[i], k[i], s[i], p[i], 1, ceil) for i in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(O))
    for o in itertools.product(*[range(v) for v in O]):
        lo = [o[i] * s[i] - p[i] for i in range(nd)]
        hi = [min(lo[i] + k[i], S[i] + p[i]) for i in range(nd)]
        pool = math.prod(hi[i] - lo[i] for i in range(nd))
        lo = [max(v, 0) for v in lo]
        hi = [min(hi[i], S[i]) for i in range(nd)]
        win = x[(Ellipsis,) + tuple(slice(lo[i], hi[i]) for i in range(nd))]
        div = divisor_override or (pool if count_include_pad else math.prod(hi[i] - lo[i] for i in range(nd)))
        out[(Ellipsis,) + o] = win.sum(tuple(range(2, 2 + nd))) / div
    return out


MAX_CASES = [
    (1, dict(k=3, s=2, p=1)), (1, dict(k=2, ceil=True)),
    (2, dict(k=2)), (2, dict(k=3, s=2, p=1)), (2, dict(k=3, s=1, p=1)), (2, dict(k=3, s=2, ceil=True)),
    (2, dict(k=(2, 3), s=(1, 2), p=(1, 1), d=(2, 1), ceil=True)),
    (3, dict(k=2)), (3, dict(k=(2, 3, 2), s=(1, 2, 2), p=(1, 1, 0), ceil=True)),
]
SHAPES = {1: (2, 3, 11), 2: (2, 3, 7, 8), 3: (1, 2, 5, 6, 7)}


@pytest.mark.parametrize("nd,kw", MAX_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_matches_reference(nd, kw, ties):
    x = RNG.integers(0, 3, SHAPES[nd]).astype(float) if ties else RNG.standard_normal(SHAPES[nd])
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    xt = autograd.tensor(x, requires_grad=True)
    out, idx = fn(xt, kw["k"], kw.get("s"), kw.get("p", 0), kw.get("d", 1), kw.get("ceil", False),
                  return_indices=True)
    ref, ridx = ref_max_pool(x, **kw)
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ridx)
    g = RNG.standard_normal(ref.shape)
    out.backward(autograd.tensor(g))
    expect = np.zeros(x.size)
    np.add.at(expect, (ridx + np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1,) * nd)
                       * math.prod(x.shape[2:])).ravel(), g.ravel())
    np.testing.assert_allclose(xt.grad.numpy().ravel(), expect, atol=1e-12)


def test_max_pool_ties_send_gradient_to_first_only():
    x = autograd.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expect = np.zeros((4, 4))
    expect[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expect)
    x.grad = None
    F.max_pool2d(x, 3, stride=1, padding=1).sum().backward()  # overlapping windows, all ties
    assert x.grad.numpy().sum() == 16 and x.grad.numpy()[0, 0, 0, 0] == 4


def test_max_pool_nan_propagates():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    out, idx = F.max_pool2d(autograd.tensor(x), 2, return_indices=True)
    assert np.isnan(out.numpy()[0, 0, 0, 0]) and idx.numpy()[0, 0, 0, 0] == 1
    assert out.numpy()[0, 0, 1, 1] == 15


@pytest.mark.parametrize("nd,kw", [MAX_CASES[0], MAX_CASES[3], MAX_CASES[6], MAX_CASES[8]])
def test_max_pool_gradcheck(nd, kw):
    x = autograd.from_numpy(RNG.permutation(math.prod(SHAPES[nd])).reshape(SHAPES[nd]) / 7.0)
    x = x[:1, :2].detach().requires_grad_()  # distinct values: no ties within eps
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]

    def f(a):
        return fn(a, kw["k"], kw.get("s"), kw.get("p", 0), kw.get("d", 1), kw.get("ceil", False))
    assert autograd.gradcheck(f, (x,)) and autograd.gradgradcheck(f, (x,))


AVG_CASES = [
    (1, dict(k=3, s=2, p=1, ceil=True, count_include_pad=False)),
    (2, dict(k=2)), (2, dict(k=3, s=2, p=1)), (2, dict(k=3, s=2, p=1, count_include_pad=False)),
    (2, dict(k=3, s=2, p=1, ceil=True)), (2, dict(k=3, s=2, p=1, ceil=True, count_include_pad=False)),
    (2, dict(k=(2, 3), s=(3, 1), p=(1, 1), ceil=True, divisor_override=5)),
    (3, dict(k=3, s=2, p=1, ceil=True, count_include_pad=False)), (3, dict(k=2)),
]


@pytest.mark.parametrize("nd,kw", AVG_CASES)
def test_avg_pool_matches_reference_and_gradcheck(nd, kw):
    x = RNG.standard_normal(SHAPES[nd])
    args = (kw["k"], kw.get("s"), kw.get("p", 0), kw.get("ceil", False), kw.get("count_include_pad", True))
    if nd == 1:
        fn = (lambda a: F.avg_pool1d(a, *args))
    else:
        pool = F.avg_pool2d if nd == 2 else F.avg_pool3d
        fn = (lambda a: pool(a, *args, kw.get("divisor_override")))
    np.testing.assert_allclose(fn(autograd.tensor(x)).numpy(), ref_avg_pool(x, **kw), atol=1e-12)
    xt = autograd.from_numpy(x[:1, :2].copy()).requires_grad_()
    assert autograd.gradcheck(fn, (xt,)) and autograd.gradgradcheck(fn, (xt,))


def test_lp_pool():
    x = np.abs(RNG.standard_normal((2, 3, 6, 7))) + 0.1
    out = F.lp_pool2d(autograd.tensor(x), 2, 3, 2, ceil_mode=False)
    np.testing.assert_allclose(out.numpy(), np.sqrt(ref_avg_pool(x ** 2, 3, 2) * 9), atol=1e-12)
    out1 = F.lp_pool1d(autograd.tensor(x[:, :, 0]), 3, 2)
    np.testing.assert_allclose(out1.numpy(), np.cbrt(ref_avg_pool(x[:, :, 0] ** 3, 2) * 2), atol=1e-12)
    xt = autograd.from_numpy(x[:1, :1]).requires_grad_()
    assert autograd.gradcheck(lambda a: F.lp_pool2d(a, 2, 2), (xt,))


def ref_adaptive(x, sizes, reduce):
    nd = len(sizes)
    S = x.shape[2:]
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for o in itertools.product(*[range(v) for v in sizes]):
        sl = tuple(slice((o[i] * S[i]) // sizes[i], -((-(o[i] + 1) * S[i]) // sizes[i])) for i in range(nd))
        out[(Ellipsis,) + o] = reduce(x[(Ellipsis,) + sl], tuple(range(2, 2 + nd)))
    return out


@pytest.mark.parametrize("shape,size", [((2, 3, 7, 8), (3, 4)), ((2, 3, 7, 8), 1), ((1, 2, 6, 9), (2, 3)),
                                        ((1, 2, 5, 6), (5, None)), ((1, 2, 9), 4), ((1, 2, 5, 4, 7), (2, 3, 4))])
def test_adaptive_pools(shape, size):
    nd = len(shape) - 2
    x = RNG.standard_normal(shape)
    sizes = (size,) * nd if isinstance(size, int) else tuple(shape[2 + i] if v is None else v
                                                             for i, v in enumerate(size))
    avg = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[nd]
    mx = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[nd]
    np.testing.assert_allclose(avg(autograd.tensor(x), size).numpy(), ref_adaptive(x, sizes, np.mean),
                               atol=1e-12)
    out, idx = mx(autograd.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), ref_adaptive(x, sizes, np.max))
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(flat.shape[:2] + (-1,)), 2),
                                  out.numpy().reshape(flat.shape[:2] + (-1,)))
    xt = autograd.from_numpy(x[:1, :1].copy()).requires_grad_()
    assert autograd.gradcheck(lambda a: avg(a, size), (xt,)) and autograd.gradgradcheck(lambda a: avg(a, size), (xt,))
    assert autograd.gradcheck(lambda a: mx(a, size), (xt,)) and autograd.gradgradcheck(lambda a: mx(a, size), (xt,))


def test_max_unpool_roundtrip_and_gradient():
    x = RNG.standard_normal((2, 3, 6, 7))
    out, idx = F.max_pool2d(autograd.tensor(x), 2, return_indices=True)
    up = F.max_unpool2d(out, idx, 2, output_size=(6, 7))
    expect = np.zeros(x.shape)
    ref, ridx = ref_max_pool(x, 2)
    np.put_along_axis(expect.reshape(2, 3, -1), ridx.reshape(2, 3, -1), ref.reshape(2, 3, -1), 2)
    np.testing.assert_array_equal(up.numpy(), expect)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(out, idx, 2)  # default size 6x6 cannot hold indices of a 6x7 plane
    o6, i6 = F.max_pool2d(autograd.tensor(x[..., :6]), 2, return_indices=True)
    assert tuple(F.max_unpool2d(o6, i6, 2).shape) == (2, 3, 6, 6)
    m = nn.MaxUnpool2d(2)
    assert repr(m) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    v = autograd.from_numpy(RNG.standard_normal(tuple(out.shape))).requires_grad_()
    assert autograd.gradcheck(lambda a: m(a, idx, (6, 7)), (v,))
    o1, i1 = F.max_pool1d(autograd.tensor(x[:, :, 0]), 2, return_indices=True)
    assert tuple(F.max_unpool1d(o1, i1, 2).shape) == (2, 3, 6)


def test_max_unpool_duplicate_indices_last_value_wins():
    """Overlapping windows can pick one element twice: it is assigned (not summed), the
    last value wins as in PyTorch's CPU kernel, and only that value gets a gradient."""
    v = autograd.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    idx = autograd.tensor(np.array([[[1, 1, 0]]]))
    up = F.max_unpool1d(v, idx, 2, stride=1, output_size=(4,))
    np.testing.assert_array_equal(up.detach().numpy(), [[[3.0, 2.0, 0.0, 0.0]]])
    up.backward(autograd.tensor([[[10.0, 20.0, 30.0, 40.0]]]))
    np.testing.assert_array_equal(v.grad.numpy(), [[[0.0, 20.0, 10.0]]])
    w = autograd.from_numpy(RNG.standard_normal((1, 1, 3))).requires_grad_()
    assert autograd.gradcheck(lambda a: F.max_unpool1d(a, idx, 2, stride=1, output_size=(4,)), (w,))


def test_modules_repr_and_unbatched():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.AdaptiveAvgPool2d((2, None))) == "AdaptiveAvgPool2d(output_size=(2, None))"
    assert repr(nn.AdaptiveMaxPool2d(3)) == "AdaptiveMaxPool2d(output_size=3)"
    x = autograd.randn(3, 8, 8)
    assert tuple(nn.MaxPool2d(2)(x).shape) == (3, 4, 4)
    assert tuple(nn.AvgPool2d(2)(x).shape) == (3, 4, 4)
    assert tuple(nn.AdaptiveAvgPool2d(1)(x).shape) == (3, 1, 1)
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert tuple(idx.shape) == (3, 4, 4) and idx.dtype == np.int64
    out, idx = nn.AdaptiveMaxPool2d((3, 5), return_indices=True)(x)
    assert tuple(out.shape) == (3, 3, 5)
    assert tuple(nn.MaxPool3d(2)(autograd.randn(1, 2, 4, 4, 4)).shape) == (1, 2, 2, 2, 2)
    assert tuple(nn.MaxPool1d(3, 2)(autograd.randn(2, 9)).shape) == (2, 4)


def test_pool_errors_and_float32():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(autograd.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(autograd.randn(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(autograd.randn(1, 1, 4, 4), 2, divisor_override=0)
    x = autograd.randn(2, 3, 8, 8, requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 3)):
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32
