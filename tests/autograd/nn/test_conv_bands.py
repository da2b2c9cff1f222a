"""Forward convolutions of large samples fill their padded input band by band
(``_im2col.input_bands``): the same values as one whole-sample buffer, for every
geometry (strides, dilation, asymmetric and negative pads, 1D/2D/3D, folded or
not), with any number of threads; and the scratch buffer stays within the budget.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn.functional as F
from autograd.nn.functional import _im2col
from _autograd_testutil import leaf

A = autograd
FNS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}

# (nd, N, C, Co, spatial, kernel, kwargs)
CASES = [
    (1, 2, 3, 4, (23,), (3,), dict(padding=1)),
    (2, 1, 4, 5, (13, 9), (3, 3), dict(padding=1)),
    (2, 2, 3, 4, (15, 8), (3, 2), dict(stride=2, padding=(1, 0))),
    (2, 1, 4, 6, (40, 9), (3, 3), dict(padding="same", dilation=(2, 1), groups=2)),
    (2, 1, 3, 2, (12, 7), (2, 2), dict(padding="same")),
    (3, 1, 3, 4, (25, 5, 6), (3, 3, 3), dict(padding=1)),
    (3, 2, 2, 3, (10, 6, 5), (3, 3, 3), dict(stride=(3, 1, 2), padding=(2, 1, 0))),
    (3, 1, 16, 16, (24, 6, 7), (3, 3, 3), dict(padding=1)),  # folded last axis
]


def _run(fn, x, w, b, kw):
    y = fn(x, w, b, **kw)
    return y.detach().numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}d-{c[5]}-{c[6]}")
@pytest.mark.parametrize("threads", [1, 2])
def test_banded_forward_equals_whole_sample(monkeypatch, case, threads):
    nd, N, C, Co, S, K, kw = case
    G = kw.get("groups", 1)
    x, w, b = leaf(N, C, *S), leaf(Co, C // G, *K, seed=1), leaf(Co, seed=2)
    ref = _run(FNS[nd], x, w, b, kw)
    seen = []
    real = _im2col.input_bands

    def spy(g, ra, rb, chan_bytes):
        bands = list(real(g, ra, rb, chan_bytes))
        seen.append(len(bands))
        return bands
    with monkeypatch.context() as mp:
        # a padded row or two per band: many bands, halos re-read at every border
        mp.setattr(_im2col, "BAND_BYTES", 1)
        mp.setattr(_im2col, "input_bands", spy)
        mp.setattr(_im2col, "threads_for_gemm", lambda *a: 3)
        A.set_num_threads(threads)
        try:
            got = _run(FNS[nd], x, w, b, kw)
        finally:
            A.set_num_threads(_im2col._nthreads())
    assert max(seen) > 1  # really banded
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_bands_cover_rows_once_and_stay_in_budget():
    g = _im2col.Geom((64, 40, 40), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)
    chan_bytes = 32 * 4  # 32 channels of float32
    old = _im2col.BAND_BYTES
    try:
        _im2col.BAND_BYTES = 2 << 20
        bands = list(_im2col.input_bands(g, 5, 60, chan_bytes))
    finally:
        _im2col.BAND_BYTES = old
    rows = [r for origin, ca, cb, *_ in bands for r in range(origin + ca, origin + cb)]
    assert rows == list(range(5, 60))
    assert len(bands) > 4
    for _, _, _, gb, lo, hi in bands:
        assert chan_bytes * gb.alloc <= (2 << 20) + chan_bytes * gb.st[0]  # within a row of the budget
        assert 0 <= lo <= hi <= 64


def test_small_sample_is_one_whole_band():
    g = _im2col.Geom((8, 8), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1)
    assert [(o, a, b, gb is g) for o, a, b, gb, _, _ in _im2col.input_bands(g, 2, 6, 16)] == [(0, 2, 6, True)]


def test_transposed_conv_backward_through_bands(monkeypatch):
    """conv_transpose's input gradient is a forward conv (with output_padding: negative pads)."""
    x, w = leaf(1, 3, 7, 6), leaf(3, 2, 3, 3, seed=1)
    kw = dict(stride=2, padding=1, output_padding=1)

    def grads():
        y = F.conv_transpose2d(x, w, **kw)
        g = A.tensor(np.random.default_rng(4).standard_normal(tuple(y.shape)))
        return [t.numpy() for t in A.autograd.grad(y, (x, w), g)]
    ref = grads()
    with monkeypatch.context() as mp:
        mp.setattr(_im2col, "BAND_BYTES", 1)
        got = grads()
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
