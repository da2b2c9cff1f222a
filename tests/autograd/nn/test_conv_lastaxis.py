"""Stride-1 convolutions with the last kernel axis folded into the GEMM rows (``_conv_lastaxis``).

The folded path must give the same values and gradients (of every order) as the
plain im2col path it replaces, for every geometry it accepts: 1D/2D/3D, groups,
dilation, asymmetric 'same' pads, several samples per chunk, 3D planes cut into
lines, and any number of threads (bitwise).
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn.functional as F
from autograd.nn.functional import _conv_lastaxis, _im2col
from _autograd_testutil import check, leaf, num_threads

A = autograd
FNS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _force(mp, on: bool) -> None:
    """Fold every eligible convolution (on) or none (off), whatever its channel counts."""
    mp.setattr(_conv_lastaxis, "MAX_FOLD_ROWS", 1 << 30 if on else 0)
    mp.setattr(_conv_lastaxis, "MIN_FOLD_INNER", 1)


def _values_and_grads(fn, x, w, b, kw):
    y = fn(x, w, b, **kw)
    g = A.tensor(np.random.default_rng(5).standard_normal(tuple(y.shape)))
    return [y.detach().numpy()] + [t.numpy() for t in autograd.autograd.grad(y, (x, w, b), g)]


# (nd, N, C, Co, spatial, kernel, kwargs)
CASES = [
    (1, 2, 3, 4, (11,), (3,), dict(padding=1)),
    (1, 1, 4, 2, (9,), (4,), dict(padding="same", dilation=2)),
    (2, 3, 4, 5, (6, 7), (3, 3), dict(padding=1)),            # 3 small samples side by side
    (2, 1, 6, 3, (8, 9), (3, 5), dict(padding=(1, 2))),
    (2, 2, 4, 6, (7, 8), (3, 3), dict(padding="same", dilation=(1, 2), groups=2)),
    (2, 1, 3, 2, (6, 6), (2, 2), dict(padding="same")),        # asymmetric pads
    (3, 2, 3, 4, (4, 5, 6), (3, 3, 3), dict(padding=1)),
    (3, 1, 8, 3, (3, 4, 5), (3, 3, 2), dict(padding="same")),  # C >= 2 Co: flipped input gradient
    (3, 1, 2, 4, (3, 5, 7), (1, 3, 3), dict(padding=(0, 1, 1), groups=2)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}d-{c[5]}-{c[6]}")
def test_folded_equals_unfolded(monkeypatch, case):
    nd, N, C, Co, S, K, kw = case
    G = kw.get("groups", 1)
    x, w, b = leaf(N, C, *S), leaf(Co, C // G, *K, seed=1), leaf(Co, seed=2)
    with monkeypatch.context() as mp:
        _force(mp, True)
        geom = _geom(x, w, kw)
        assert _conv_lastaxis.plan(geom, w.shape) is not None  # the folded path really runs
        got = _values_and_grads(FNS[nd], x, w, b, kw)
    with monkeypatch.context() as mp:
        _force(mp, False)
        assert _conv_lastaxis.plan(_geom(x, w, kw), w.shape) is None
        ref = _values_and_grads(FNS[nd], x, w, b, kw)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_folded_line_chunks_any_thread_count(monkeypatch, threads):
    """3D planes cut into lines and parts: same values as the unfolded path, and bitwise
    the same result with any number of threads."""
    x, w, b = leaf(2, 3, 5, 6, 7), leaf(4, 3, 3, 3, 3, seed=1), leaf(4, seed=2)
    kw = dict(padding=1)
    with monkeypatch.context() as mp:
        _force(mp, False)
        ref = _values_and_grads(F.conv3d, x, w, b, kw)
    with monkeypatch.context() as mp:
        _force(mp, True)
        mp.setattr(_im2col, "threads_for_gemm", lambda *a: 4)
        mp.setattr(_im2col, "CHUNK_BYTES", 3000)
        mp.setattr(_im2col, "COL_BUDGET", 3000)
        with num_threads(threads):
            got = _values_and_grads(F.conv3d, x, w, b, kw)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    if threads == 1:
        test_folded_line_chunks_any_thread_count.single = got
    elif hasattr(test_folded_line_chunks_any_thread_count, "single"):
        for a, s in zip(got, test_folded_line_chunks_any_thread_count.single):
            np.testing.assert_array_equal(a, s)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_gradcheck_and_gradgradcheck_folded(monkeypatch, nd):
    S = {1: (7,), 2: (4, 5), 3: (3, 4, 4)}[nd]
    x, w = leaf(1, 2, *S), leaf(3, 2, *(3,) * nd, seed=1)
    with monkeypatch.context() as mp:
        _force(mp, True)
        check(lambda x, w: FNS[nd](x, w, padding=1), x, w)


def test_default_policy_folds_unet_convolutions_only():
    g3 = _im2col.Geom((32, 64, 64), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)
    assert _conv_lastaxis.plan(g3, (16, 16, 3, 3, 3)) is not None      # U-Net level 0
    assert _conv_lastaxis.plan(g3, (64, 128, 3, 3, 3)) is not None     # merge at the bottom
    assert _conv_lastaxis.plan(g3, (16, 1, 3, 3, 3)) is None           # 1 input channel: too thin
    assert _conv_lastaxis.plan(g3, (256, 256, 3, 3, 3)) is None        # already an efficient GEMM
    strided = _im2col.Geom((32, 32), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1)
    assert _conv_lastaxis.plan(strided, (16, 16, 3, 3)) is None
    pointwise = _im2col.Geom((32, 32), (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1)
    assert _conv_lastaxis.plan(pointwise, (16, 16, 1, 1)) is None


def test_float32_folded_close_to_float64():
    x = leaf(2, 16, 6, 10, 12, seed=3, requires_grad=False)
    w = leaf(16, 16, 3, 3, 3, seed=4, requires_grad=False)
    y64 = F.conv3d(x, w, padding=1).numpy()
    y32 = F.conv3d(x.float(), w.float(), padding=1).numpy()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)


def _geom(x, w, kw):
    from autograd.nn.functional._conv import ntuple, same_pads
    nd = w.ndim - 2
    Ks = tuple(w.shape[2:])
    d = ntuple(kw.get("dilation", 1), nd)
    if kw["padding"] == "same":
        pl, pr = same_pads(Ks, d)
    else:
        pl = pr = ntuple(kw["padding"], nd)
    return _im2col.Geom(tuple(x.shape[2:]), Ks, (1,) * nd, pl, pr, d, kw.get("groups", 1))
