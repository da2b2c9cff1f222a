"""Direct stride-1 convolutions on the compiled SIMD tiles (``_conv_direct``, ``_simd``).

The direct path must give the values and gradients (of every order) of the GEMM
paths it replaces for every geometry it accepts: 1D/2D/3D, dilation, 'same' and
asymmetric pads, pads wider than the kernel reaches (input gradient falls back),
several samples per chunk, 3D planes cut into lines, large samples cut into
bands, outputs not a multiple of a tile, any number of threads (bitwise), and
the tiles of the other vector widths (AVX2, SSE/NEON) as well as AVX-512.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd
import autograd.nn.functional as F
from autograd.nn.functional import _conv_direct, _im2col, _simd
from autograd.nn.functional._conv import ntuple, same_pads
from _autograd_testutil import check, leaf, num_threads

A = autograd
FNS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
RF = _conv_direct.RF  # output channels per forward tile: the direct path needs a multiple


def _geom(x, w, kw):
    nd = w.ndim - 2
    Ks = tuple(w.shape[2:])
    d = ntuple(kw.get("dilation", 1), nd)
    if kw.get("padding") == "same":
        pl, pr = same_pads(Ks, d)
    else:
        pl = pr = ntuple(kw.get("padding", 0), nd)
    return _im2col.Geom(tuple(x.shape[2:]), Ks, (1,) * nd, pl, pr, d, 1)


def _values_and_grads(fn, x, w, b, kw):
    y = fn(x, w, b, **kw)
    g = A.tensor(np.random.default_rng(5).standard_normal(tuple(y.shape)), dtype=y.dtype)
    return [y.detach().numpy()] + [t.numpy() for t in autograd.autograd.grad(y, (x, w, b), g)]


def _reference(monkeypatch, fn, x, w, b, kw):
    """The same through the GEMM paths (the direct path switched off)."""
    with monkeypatch.context() as mp:
        mp.setattr(_conv_direct, "plan", lambda *a: None)
        return _values_and_grads(fn, x, w, b, kw)


# (nd, N, C, Co, spatial, kernel, kwargs)
CASES = [
    (1, 2, 3, RF, (37,), (3,), dict(padding=1)),
    (1, 1, 4, RF, (29,), (4,), dict(padding="same", dilation=2)),       # asymmetric pads
    (2, 3, 4, RF, (6, 7), (3, 3), dict(padding=1)),                      # 3 samples side by side
    (2, 1, 5, 2 * RF, (9, 40), (3, 5), dict(padding=(1, 2))),
    (2, 2, 3, RF, (6, 6), (2, 2), dict(padding="same")),
    (2, 1, 3, RF, (7, 9), (3, 3), dict(padding=0)),                      # 'valid'
    (2, 1, 3, RF, (7, 9), (3, 3), dict(padding=3)),                      # pads beyond the kernel
    (3, 2, 3, RF, (4, 5, 6), (3, 3, 3), dict(padding=1)),
    (3, 1, 2 * RF, 3 * RF, (3, 4, 5), (3, 3, 2), dict(padding="same")),
    (3, 1, 4, RF, (5, 6, 7), (3, 3, 3), dict(padding=2, dilation=2)),
    (3, 1, 3, RF, (2, 3, 70), (3, 3, 3), dict(padding=1)),               # long lines, odd tails
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}d-{c[3]}-{c[5]}-{c[6]}")
def test_direct_equals_gemm_paths(monkeypatch, case):
    nd, N, C, Co, S, K, kw = case
    x, w, b = leaf(N, C, *S), leaf(Co, C, *K, seed=1), leaf(Co, seed=2)
    assert _conv_direct.plan(_geom(x, w, kw), w.shape, np.float64) is not None  # it really runs
    got = _values_and_grads(FNS[nd], x, w, b, kw)
    ref = _reference(monkeypatch, FNS[nd], x, w, b, kw)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_chunks_bands_and_threads(monkeypatch, threads):
    """Rows cut into parts, 3D planes into lines, large samples into input bands: the same
    values as the GEMM paths, and bitwise the same with any number of threads."""
    x, w, b = leaf(2, 3, 6, 7, 9), leaf(RF, 3, 3, 3, 3, seed=1), leaf(RF, seed=2)
    kw = dict(padding=1)
    ref = _reference(monkeypatch, F.conv3d, x, w, b, kw)
    with monkeypatch.context() as mp:
        mp.setattr(_im2col, "threads_for_gemm", lambda *a: 4)
        for name in ("CHUNK_BYTES", "COL_BUDGET", "BAND_BYTES"):
            mp.setattr(_im2col, name, 3000)
        with num_threads(threads):
            got = _values_and_grads(F.conv3d, x, w, b, kw)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    if threads == 1:
        test_chunks_bands_and_threads.single = got
    elif hasattr(test_chunks_bands_and_threads, "single"):
        for a, s in zip(got, test_chunks_bands_and_threads.single):
            np.testing.assert_array_equal(a, s)


def test_float32_threads_bitwise_and_close_to_float64():
    x = leaf(2, 16, 6, 10, 12, seed=3)
    w = leaf(16, 16, 3, 3, 3, seed=4)
    b = leaf(16, seed=5)
    runs = []
    for threads in (1, 2):
        with num_threads(threads):
            runs.append(_values_and_grads(F.conv3d, x.float().detach().requires_grad_(),
                                          w.float().detach().requires_grad_(),
                                          b.float().detach().requires_grad_(), dict(padding=1)))
    for a, s in zip(*runs):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, s)
    ref = _values_and_grads(F.conv3d, x, w, b, dict(padding=1))
    for a, r in zip(runs[0], ref):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4 * np.abs(r).max())


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_gradcheck_and_gradgradcheck(nd):
    S = {1: (9,), 2: (4, 5), 3: (3, 4, 4)}[nd]
    x, w = leaf(1, 2, *S), leaf(RF, 2, *(3,) * nd, seed=1)
    assert _conv_direct.plan(_geom(x, w, dict(padding=1)), w.shape, np.float64) is not None
    check(lambda x, w: FNS[nd](x, w, padding=1), x, w)


def test_nan_and_inf_reach_the_same_outputs(monkeypatch):
    x, w, b = leaf(1, 3, 6, 7), leaf(RF, 3, 3, 3, seed=1), leaf(RF, seed=2)
    xa = x.detach().numpy().copy()
    xa[0, 1, 2, 3], xa[0, 2, 5, 6] = np.nan, np.inf
    x = A.tensor(xa, requires_grad=True)
    got = F.conv2d(x, w, b, padding=1).detach().numpy()
    with monkeypatch.context() as mp:
        mp.setattr(_conv_direct, "plan", lambda *a: None)
        ref = F.conv2d(x, w, b, padding=1).detach().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-12, atol=1e-12)


def test_policy_depends_on_shape_and_dtype_only():
    g3 = _im2col.Geom((32, 64, 64), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)
    for dt in (np.float32, np.float64):
        assert _conv_direct.plan(g3, (16, 16, 3, 3, 3), dt) is not None   # U-Net level 0
        assert _conv_direct.plan(g3, (16, 1, 3, 3, 3), dt) is not None    # first convolution
    assert _conv_direct.plan(g3, (16, 16, 3, 3, 3), np.float16) is None
    assert _conv_direct.plan(g3, (RF + 1, 16, 3, 3, 3), np.float32) is None  # not whole tiles
    grouped = _im2col.Geom((8, 8), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 2)
    assert _conv_direct.plan(grouped, (16, 8, 3, 3), np.float32) is None
    strided = _im2col.Geom((32, 32), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1)
    assert _conv_direct.plan(strided, (16, 16, 3, 3), np.float32) is None
    pointwise = _im2col.Geom((32, 32), (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1)
    assert _conv_direct.plan(pointwise, (16, 16, 1, 1), np.float32) is None


def test_tiles_fit_the_register_file():
    assert _simd.VECTOR_BITS in (128, 256, 512)
    regs = 32 if _simd.VECTOR_BITS == 512 else 16
    R, V = _simd.BLOCKS[0]
    assert R * V + V + 1 <= regs
    for r, j in _simd.DW_J.items():
        assert r * j + r + 1 <= regs and _simd.DW_KPAD % j == 0


_OTHER_WIDTHS = """
import numpy as np, autograd, autograd.nn.functional as F
from autograd.nn.functional import _conv_direct, _simd
assert _simd.VECTOR_BITS == {bits} and not _simd.CACHE and _conv_direct.RF == 4
rng = np.random.default_rng(0)
for shape, C, Co, fn in [((11, 13), 3, 8, F.conv2d), ((3, 4, 37), 5, 12, F.conv3d), ((45,), 2, 4, F.conv1d)]:
    nd = len(shape)
    x = autograd.tensor(rng.standard_normal((2, C) + shape), requires_grad=True)
    w = autograd.tensor(rng.standard_normal((Co, C) + (3,) * nd), requires_grad=True)
    b = autograd.tensor(rng.standard_normal(Co), requires_grad=True)
    def run():
        y = fn(x, w, b, padding=1)
        g = autograd.tensor(np.cos(np.arange(y.numel()).reshape(tuple(y.shape))))
        return [y.detach().numpy()] + [t.numpy() for t in autograd.autograd.grad(y, (x, w, b), g)]
    got = run()
    plan = _conv_direct.plan
    _conv_direct.plan = lambda *a: None
    ref = run()
    _conv_direct.plan = plan
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
print("ok")
"""


@pytest.mark.parametrize("bits", [128, 256])
def test_tiles_of_other_vector_widths(bits, tmp_path):
    """The AVX2 and 128-bit tiles (other machines' choice) compute the same, here."""
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, AUTOGRAD_SIMD_BITS=str(bits), NUMBA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _OTHER_WIDTHS.format(bits=bits)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
