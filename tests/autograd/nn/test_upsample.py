"""interpolate / Upsample against per-pixel reference loops (PyTorch's index rules), gradients."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F

RNG = np.random.default_rng(11)


def _src(dst, n_in, n_out, scale, align_corners, cubic=False):
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return s * dst
    s = 1.0 / scale if scale else n_in / n_out
    v = s * (dst + 0.5) - 0.5
    return v if cubic else max(v, 0.0)


def _taps_ref(mode, dst, n_in, n_out, scale, ac):
    """[(index, weight)] of one output coordinate along one axis."""
    if mode == "nearest":
        s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
        return [(min(int(math.floor(np.float32(dst) * s)), n_in - 1), 1.0)]
    if mode == "nearest-exact":
        s = float(np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out))
        return [(min(int(math.floor((dst + 0.5) * s)), n_in - 1), 1.0)]
    if mode == "linear":
        src = _src(dst, n_in, n_out, scale, ac)
        i0 = min(int(math.floor(src)), n_in - 1)
        lam = min(max(src - i0, 0.0), 1.0)
        return [(i0, 1 - lam), (min(i0 + 1, n_in - 1), lam)]
    src = _src(dst, n_in, n_out, scale, ac, cubic=True)
    i = math.floor(src)
    t = src - i
    A = -0.75
    w = [((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
         ((A + 2) * t - (A + 3)) * t * t + 1,
         ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1,
         ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A]
    return [(min(max(i - 1 + j, 0), n_in - 1), w[j]) for j in range(4)]


def ref_interp(x, sizes, scales, mode, ac):
    nd = x.ndim - 2
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for o in itertools.product(*[range(v) for v in sizes]):
        taps = [_taps_ref(mode, o[i], x.shape[2 + i], sizes[i], scales[i] if scales else None, ac)
                for i in range(nd)]
        acc = 0.0
        for combo in itertools.product(*taps):
            wgt = math.prod(w for _, w in combo)
            acc = acc + wgt * x[(Ellipsis,) + tuple(j for j, _ in combo)]
        out[(Ellipsis,) + o] = acc
    return out


CASES = [
    ("nearest", (2, 3, 5, 6), dict(scale_factor=2)), ("nearest", (2, 3, 5, 6), dict(size=(7, 4))),
    ("nearest", (1, 2, 5, 6), dict(scale_factor=(1.7, 0.5))), ("nearest", (1, 2, 7), dict(size=3)),
    ("nearest-exact", (1, 2, 5, 6), dict(size=(9, 4))),
    ("linear", (2, 3, 6), dict(scale_factor=2.5)), ("linear", (2, 3, 6), dict(size=4)),
    ("bilinear", (2, 3, 5, 6), dict(scale_factor=2)), ("bilinear", (1, 2, 5, 6), dict(size=(3, 11))),
    ("bilinear", (1, 2, 5, 6), dict(scale_factor=(0.6, 1.5))),
    ("bicubic", (1, 2, 5, 6), dict(size=(8, 4))), ("bicubic", (1, 2, 4, 4), dict(scale_factor=2)),
    ("trilinear", (1, 2, 3, 4, 5), dict(size=(5, 3, 7))), ("nearest", (1, 2, 3, 4, 5), dict(scale_factor=2)),
]


COMBOS = [(m, s, k, ac) for m, s, k in CASES for ac in ((None,) if m.startswith("nearest") else (False, True))]


@pytest.mark.parametrize("mode,shape,kw,ac", COMBOS)
def test_matches_reference(mode, shape, kw, ac):
    x = RNG.standard_normal(shape)
    y = F.interpolate(autograd.tensor(x), mode=mode, align_corners=ac, **kw)
    nd = len(shape) - 2
    if "size" in kw:
        sizes = (kw["size"],) * nd if isinstance(kw["size"], int) else kw["size"]
        scales = None
    else:
        sf = kw["scale_factor"]
        scales = (sf,) * nd if not isinstance(sf, tuple) else sf
        sizes = tuple(int(math.floor(shape[2 + i] * scales[i])) for i in range(nd))
    kind = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    np.testing.assert_allclose(y.numpy(), ref_interp(x, sizes, scales, kind, bool(ac)), atol=1e-12)


@pytest.mark.parametrize("mode,kw", [("nearest", dict(scale_factor=2)), ("bilinear", dict(size=(5, 3))),
                                     ("bicubic", dict(scale_factor=1.5)), ("area", dict(size=(2, 3))),
                                     ("bilinear", dict(scale_factor=2, align_corners=True))])
def test_gradcheck_and_gradgradcheck(mode, kw):
    x = autograd.from_numpy(RNG.standard_normal((1, 2, 4, 5))).requires_grad_()

    def f(a):
        return F.interpolate(a, mode=mode, **kw)
    assert autograd.gradcheck(f, (x,)) and autograd.gradgradcheck(f, (x,))


def test_area_is_adaptive_average():
    x = RNG.standard_normal((2, 3, 7, 9))
    a = F.interpolate(autograd.tensor(x), size=(3, 4), mode="area").numpy()
    np.testing.assert_allclose(a, F.adaptive_avg_pool2d(autograd.tensor(x), (3, 4)).numpy())


def test_float32_kept():
    x = autograd.randn(1, 2, 4, 4, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="bilinear")
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 4.0, rtol=1e-6)  # each input spreads weight 4 in total


def test_errors():
    x = autograd.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="needs 5D input"):
        F.interpolate(x, scale_factor=2, mode="trilinear")


def test_upsample_module():
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(4, 5))) == "Upsample(size=(4, 5), mode='nearest')"
    x = autograd.randn(1, 3, 4, 5)
    np.testing.assert_allclose(up(x).numpy(), F.interpolate(x, scale_factor=2, mode="bilinear").numpy())
    assert tuple(nn.UpsamplingNearest2d(scale_factor=3)(x).shape) == (1, 3, 12, 15)
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(size=(7, 9))(x).numpy(),
                               F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True).numpy())
    np.testing.assert_allclose(F.upsample(x, scale_factor=2).numpy(), F.interpolate(x, scale_factor=2).numpy())
