"""Convolution kernel paths added for whole-network speed.

- the input gradient of a stride-1 convolution with C >= 2*Co computed as a
  forward convolution of the output gradient (``_conv_adjoint``) equals the
  col2im adjoint;
- large 3D planes cut into lines (``_im2col.row_chunks``) give the same result,
  with any number of threads.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn.functional as F
from autograd.nn.functional import _conv, _im2col
from _autograd_testutil import check, leaf

A = autograd


def _grads(fn, x, w, b, kw):
    y = fn(x, w, b, **kw)
    g = A.tensor(np.random.default_rng(5).standard_normal(tuple(y.shape)))
    return [t.numpy() for t in autograd.autograd.grad(y, (x, w, b), g)]


CASES = [
    (2, dict(padding=1)),
    (2, dict(padding="same", dilation=2)),
    (2, dict(padding=(0, 1))),
    (3, dict(padding=1)),
    (3, dict(padding="same")),  # kernel 2 along the last axis: asymmetric pads
]


@pytest.mark.parametrize("nd,kw", CASES)
def test_flipped_input_gradient_equals_col2im(monkeypatch, nd, kw):
    S = (7, 6) if nd == 2 else (4, 5, 6)
    K = (3, 3) if nd == 2 else (3, 3, 2)
    x, w, b = leaf(2, 6, *S), leaf(3, 6, *K, seed=1), leaf(3, seed=2)
    fn = F.conv2d if nd == 2 else F.conv3d
    assert _conv.flipped_geometry(w.detach().numpy(), _geom(x, w, kw, nd)) is not None
    fast = _grads(fn, x, w, b, kw)
    monkeypatch.setattr(_conv, "flipped_geometry", lambda *a: None)
    ref = _grads(fn, x, w, b, kw)
    for a, r in zip(fast, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def _geom(x, w, kw, nd):
    from autograd.nn.functional._conv import same_pads
    Ks = tuple(w.shape[2:])
    d = (kw.get("dilation", 1),) * nd
    if kw["padding"] == "same":
        pl, pr = same_pads(Ks, d)
    else:
        p = kw["padding"]
        pl = pr = p if isinstance(p, tuple) else (p,) * nd
    return _im2col.Geom(tuple(x.shape[2:]), Ks, (1,) * nd, pl, pr, d, 1)


def test_flipped_path_not_used_where_it_is_slower():
    w = np.zeros((4, 4, 3, 3))
    g = _im2col.Geom((5, 5), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1)
    assert _conv.flipped_geometry(w, g) is None  # C == Co: col2im is cheaper
    g2 = _im2col.Geom((5, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1)
    assert _conv.flipped_geometry(np.zeros((2, 4, 3, 3)), g2) is None  # strided


def test_gradcheck_through_flipped_path():
    x, w = leaf(1, 4, 4, 5), leaf(2, 4, 3, 3, seed=1)
    check(lambda x, w: F.conv2d(x, w, padding=1), x, w)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_line_chunks_match_whole_planes(monkeypatch, threads):
    """A tiny budget cuts 3D planes into lines; results equal the whole-plane path,
    and the line-chunked result is the same with any number of threads."""
    x, w, b = leaf(2, 3, 5, 6, 7), leaf(4, 3, 3, 3, 3, seed=1), leaf(4, seed=2)
    x2 = leaf(2, 8, 5, 6, 7, seed=3)
    w2 = leaf(4, 8, 3, 3, 3, seed=4)
    kw = dict(padding=1)
    ref = [_grads(F.conv3d, x, w, b, kw), _grads(F.conv3d, x2, w2, b, kw)]
    ref_y = F.conv3d(x, w, b, **kw).detach().numpy()
    with monkeypatch.context() as mp:
        mp.setattr(_im2col, "threads_for_gemm", lambda *a: 4)
        mp.setattr(_im2col, "CHUNK_BYTES", 3000)
        mp.setattr(_im2col, "COL_BUDGET", 3000)
        A.set_num_threads(threads)
        try:
            got = [_grads(F.conv3d, x, w, b, kw), _grads(F.conv3d, x2, w2, b, kw)]
            got_y = F.conv3d(x, w, b, **kw).detach().numpy()
        finally:
            A.set_num_threads(_im2col._nthreads())
    np.testing.assert_allclose(got_y, ref_y, rtol=1e-12, atol=1e-12)
    for gs, rs in zip(got, ref):
        for a, r in zip(gs, rs):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    if threads == 1:
        test_line_chunks_match_whole_planes.single = got
    elif hasattr(test_line_chunks_match_whole_planes, "single"):
        for gs, ss in zip(got, test_line_chunks_match_whole_planes.single):
            for a, s in zip(gs, ss):
                np.testing.assert_array_equal(a, s)  # bitwise: thread count does not matter
