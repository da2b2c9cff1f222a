"""conv1d/2d/3d and Conv layers: naive reference loops, gradcheck, gradgradcheck, modules."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F
from autograd.nn.functional import _im2col

RNG = np.random.default_rng(1234)


def t64(*shape, grad=True):
    return autograd.from_numpy(RNG.standard_normal(shape)).requires_grad_(grad)


def ref_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct definition: out[n, o, p] = sum_{c, k} w[o, c, k] * xpad[n, g*Cg + c, p*s + k*d]."""
    nd = x.ndim - 2
    s = (stride,) * nd if isinstance(stride, int) else stride
    d = (dilation,) * nd if isinstance(dilation, int) else dilation
    K = w.shape[2:]
    if padding == "same":
        pl = [d[i] * (K[i] - 1) // 2 for i in range(nd)]
        pr = [d[i] * (K[i] - 1) - pl[i] for i in range(nd)]
    elif padding == "valid":
        pl = pr = [0] * nd
    else:
        pl = pr = [padding] * nd if isinstance(padding, int) else list(padding)
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pl, pr)))
    N, C = x.shape[:2]
    Co, Cg = w.shape[0], w.shape[1]
    Cog = Co // groups
    O = [(xp.shape[2 + i] - d[i] * (K[i] - 1) - 1) // s[i] + 1 for i in range(nd)]
    out = np.zeros((N, Co) + tuple(O))
    for n, o in itertools.product(range(N), range(Co)):
        g = o // Cog
        for p in itertools.product(*[range(v) for v in O]):
            acc = 0.0
            for c in range(Cg):
                for k in itertools.product(*[range(v) for v in K]):
                    idx = tuple(p[i] * s[i] + k[i] * d[i] for i in range(nd))
                    acc += w[(o, c) + k] * xp[(n, g * Cg + c) + idx]
            out[(n, o) + p] = acc + (b[o] if b is not None else 0.0)
    return out


CASES = [
    # nd, N, C, Co, spatial, kernel, kwargs
    (1, 2, 3, 4, (9,), (3,), dict(stride=2, padding=1)),
    (1, 1, 2, 2, (7,), (4,), dict(padding="same", dilation=2)),
    (2, 2, 3, 4, (6, 7), (3, 3), dict(padding=1)),
    (2, 2, 4, 6, (7, 8), (3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    (2, 1, 2, 3, (6, 6), (2, 4), dict(padding="same")),
    (2, 1, 3, 2, (7, 6), (4, 3), dict(padding="same", dilation=(1, 2))),
    (2, 1, 2, 2, (5, 6), (3, 3), dict(padding="valid")),
    (2, 2, 4, 4, (6, 5), (3, 3), dict(padding=1, groups=4)),          # depthwise
    (2, 1, 3, 6, (6, 5), (3, 3), dict(stride=2, groups=3)),           # depthwise multiplier 2
    (3, 1, 2, 3, (4, 5, 4), (3, 2, 3), dict(padding=(1, 0, 1), stride=(1, 2, 1))),
    (3, 2, 2, 2, (4, 4, 5), (2, 2, 2), dict(padding="same", dilation=(1, 2, 1))),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_reference(case, bias):
    nd, N, C, Co, S, K, kw = case
    x = RNG.standard_normal((N, C) + S)
    w = RNG.standard_normal((Co, C // kw.get("groups", 1)) + K)
    b = RNG.standard_normal(Co) if bias else None
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    out = fn(autograd.tensor(x), autograd.tensor(w), None if b is None else autograd.tensor(b), **kw)
    np.testing.assert_allclose(out.numpy(), ref_conv(x, w, b, **kw), atol=1e-10)


@pytest.mark.parametrize("case", CASES[::2], ids=[f"{c[0]}d-{i}" for i, c in enumerate(CASES[::2])])
def test_gradcheck_and_gradgradcheck(case):
    nd, _, C, Co, S, K, kw = case
    S = tuple(min(v, 5) for v in S)
    K = tuple(min(k, v) for k, v in zip(K, S))
    x = t64(1, C, *S)
    w = t64(Co, C // kw.get("groups", 1), *K)
    b = t64(Co)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]

    def f(x, w, b):
        return fn(x, w, b, **kw)
    assert autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)
    assert autograd.gradgradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)


def test_float32_stays_float32_and_matches_float64():
    x, w, b = RNG.standard_normal((2, 3, 9, 9)), RNG.standard_normal((5, 3, 3, 3)), RNG.standard_normal(5)
    xs, ws, bs = (autograd.tensor(a.astype(np.float32), requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xs, ws, bs, padding=1)
    assert y.dtype == np.float32
    y.backward(autograd.ones_like(y))
    assert xs.grad.dtype == ws.grad.dtype == bs.grad.dtype == np.float32
    np.testing.assert_allclose(y.detach().numpy(), ref_conv(x, w, b, padding=1), rtol=1e-4, atol=1e-4)


def test_gradients_match_reference_adjoints():
    """dx, dw, db against finite sums of the reference definition (via its linearity)."""
    x, w = RNG.standard_normal((2, 4, 6, 5)), RNG.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)
    xt, wt, bt = autograd.tensor(x, requires_grad=True), autograd.tensor(w, requires_grad=True), \
        autograd.zeros(6, dtype=autograd.float64, requires_grad=True)
    y = F.conv2d(xt, wt, bt, **kw)
    gy = RNG.standard_normal(tuple(y.shape))
    y.backward(autograd.tensor(gy))
    # <gy, conv(x, w)> is linear in x and in w: its gradient is read off unit perturbations.
    gx = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1
        gx.flat[i] = (gy * ref_conv(e.reshape(x.shape), w, None, **kw)).sum()
    gw = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros(w.size)
        e[i] = 1
        gw.flat[i] = (gy * ref_conv(x, e.reshape(w.shape), None, **kw)).sum()
    np.testing.assert_allclose(xt.grad.numpy(), gx, atol=1e-10)
    np.testing.assert_allclose(wt.grad.numpy(), gw, atol=1e-10)
    np.testing.assert_allclose(bt.grad.numpy(), gy.sum((0, 2, 3)), atol=1e-10)


@pytest.mark.parametrize("nd", [2, 3])
def test_chunked_im2col_matches_unchunked(monkeypatch, nd):
    """A tiny column budget forces row chunking; results must not change."""
    S = (7, 6) if nd == 2 else (5, 4, 6)
    x, w = t64(3, 3, *S), t64(4, 3, *(3,) * nd)
    fn = F.conv2d if nd == 2 else F.conv3d
    for kw in (dict(padding=1), dict(stride=2, padding=(1,) * nd)):
        y = fn(x, w, **kw)
        gx, gw = autograd.autograd.grad(y, (x, w), autograd.ones_like(y))
        with monkeypatch.context() as mp:
            mp.setattr(_im2col, "COL_BUDGET", 600)
            mp.setattr(_im2col, "CHUNK_BYTES", 600)
            y2 = fn(x, w, **kw)
            gx2, gw2 = autograd.autograd.grad(y2, (x, w), autograd.ones_like(y2))
        for a, b in ((y, y2), (gx, gx2), (gw, gw2)):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("N,threads", [(1, 3), (3, 2), (2, 5)])
def test_thread_split_matches_single_thread(monkeypatch, N, threads):
    """Rows split across threads (input-gradient halo rows summed) give the same result."""
    x, w, b = t64(N, 3, 9, 7), t64(4, 3, 3, 2), t64(4)
    for kw in (dict(padding=1, dilation=(2, 1)), dict(stride=(2, 1), padding=(1, 0))):
        monkeypatch.setattr(_im2col, "threads_for_gemm", lambda *a: 1)
        y = F.conv2d(x, w, b, **kw)
        ref = autograd.autograd.grad(y, (x, w, b), autograd.ones_like(y) * 0.5)
        with monkeypatch.context() as mp:
            mp.setattr(_im2col, "threads_for_gemm", lambda *a: threads)
            mp.setattr(_im2col, "CHUNK_BYTES", 2000)
            y2 = F.conv2d(x, w, b, **kw)
            got = autograd.autograd.grad(y2, (x, w, b), autograd.ones_like(y2) * 0.5)
        np.testing.assert_allclose(y2.detach().numpy(), y.detach().numpy(), atol=1e-12)
        for a, c in zip(got, ref):
            np.testing.assert_allclose(a.numpy(), c.numpy(), atol=1e-12)


def test_unbatched_input():
    x, w = RNG.standard_normal((3, 6, 6)), RNG.standard_normal((2, 3, 3, 3))
    y = F.conv2d(autograd.tensor(x), autograd.tensor(w), padding=1)
    assert tuple(y.shape) == (2, 6, 6)
    np.testing.assert_allclose(y.numpy(), ref_conv(x[None], w, padding=1)[0], atol=1e-10)


def test_noncontiguous_input_and_weight():
    x = RNG.standard_normal((2, 6, 7, 3)).transpose(0, 3, 1, 2)
    w = RNG.standard_normal((3, 3, 3, 4)).transpose(3, 0, 1, 2)
    y = F.conv2d(autograd.tensor(x), autograd.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), ref_conv(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                                   padding=1), atol=1e-10)


def test_errors():
    x = autograd.randn(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="expected input.*to have 4 channels"):
        F.conv2d(x, autograd.randn(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv2d(x, autograd.randn(2, 3, 7, 7))
    with pytest.raises(RuntimeError, match="strided"):
        F.conv2d(x, autograd.randn(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="should be the same"):
        F.conv2d(x, autograd.randn(2, 3, 3, 3, dtype=autograd.float64))
    with pytest.raises(RuntimeError, match="4D"):
        F.conv2d(autograd.randn(5, 5), autograd.randn(2, 3, 3, 3))


# -- modules --------------------------------------------------------------------------
def test_module_default_init_bounds_and_seed():
    autograd.manual_seed(0)
    c = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    assert c.weight.shape == (32, 16, 3, 3) and c.bias.shape == (32,)
    assert float(c.weight.abs().max()) <= bound and float(c.weight.abs().max()) > 0.9 * bound
    assert float(c.bias.abs().max()) <= bound
    assert c.weight.dtype == np.float32
    autograd.manual_seed(0)
    c2 = nn.Conv2d(16, 32, 3)
    np.testing.assert_array_equal(c.weight.detach().numpy(), c2.weight.detach().numpy())
    assert nn.Conv1d(4, 6, 5, groups=2).weight.shape == (6, 2, 5)
    assert nn.Conv3d(2, 3, (1, 2, 3), bias=False).bias is None


def test_module_repr():
    assert repr(nn.Conv2d(3, 8, 3, padding=1)) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.Conv1d(2, 4, 3, padding="same", bias=False, padding_mode="reflect")) == \
        "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same, bias=False, padding_mode=reflect)"
    assert repr(nn.Conv3d(4, 4, 3, stride=2, dilation=2, groups=4)) == \
        "Conv3d(4, 4, kernel_size=(3, 3, 3), stride=(2, 2, 2), dilation=(2, 2, 2), groups=4)"


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "zeros"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_module_padding_modes(mode, padding):
    autograd.manual_seed(1)
    m = nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode).double()
    x = RNG.standard_normal((2, 2, 6, 7))
    if padding == "same":
        pads = [(1, 1), (1, 2)]
    else:
        p = (padding,) * 2 if isinstance(padding, int) else padding
        pads = [(p[0], p[0]), (p[1], p[1])]
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap", "zeros": "constant"}[mode]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads, mode=np_mode)
    expected = ref_conv(xp, m.weight.detach().numpy(), m.bias.detach().numpy())
    np.testing.assert_allclose(m(autograd.tensor(x)).detach().numpy(), expected, atol=1e-10)
    xt = t64(1, 2, 4, 5)
    assert autograd.gradcheck(lambda a: m(a), (xt,), eps=1e-6, atol=1e-5)


def test_lazy_conv_infers_in_channels():
    autograd.manual_seed(0)
    m = nn.LazyConv2d(8, 3, padding=1)
    assert m.in_channels == 0
    y = m(autograd.randn(2, 5, 6, 6))
    assert type(m) is nn.Conv2d and m.in_channels == 5
    assert m.weight.shape == (8, 5, 3, 3) and m.bias.shape == (8,)
    assert tuple(y.shape) == (2, 8, 6, 6)
    assert len(list(m.parameters())) == 2
    m1 = nn.LazyConv1d(4, 3, bias=False)
    m1(autograd.randn(3, 10))  # unbatched: channels from dim 0
    assert m1.weight.shape == (4, 3, 3) and m1.bias is None
    m3 = nn.LazyConv3d(2, 2, groups=2)
    m3(autograd.randn(1, 4, 3, 3, 3))
    assert m3.weight.shape == (2, 2, 2, 2, 2)


def test_conv_module_trains_second_order():
    """create_graph through a Conv layer: gradient penalty d/dw |dL/dx|^2 works."""
    autograd.manual_seed(0)
    m = nn.Conv2d(2, 3, 3, padding=1).double()
    x = t64(1, 2, 5, 5)
    y = (m(x) ** 2).sum()
    (gx,) = autograd.autograd.grad(y, (x,), create_graph=True)
    (gx ** 2).sum().backward()
    assert m.weight.grad is not None and np.isfinite(m.weight.grad.numpy()).all()
