"""Compiled copies between arrays and the flat padded layout of the convolutions (``_im2col``).

numpy fills a padded buffer in several strided passes (the zero borders per axis,
then the interior), slow on the short lines of a U-Net's deeper levels (16-64
elements). This loop writes the padded buffer once, in order, with vector copies
of the lines. Only the layout of 1-3 spatial axes is handled (every convolution
``conv1d/2d/3d`` has); other callers keep the numpy passes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._simd import CACHE, VECTOR_BITS, copy_vectors

__all__ = ["as3d", "fill_padded"]


def as3d(v: np.ndarray, nd: int) -> np.ndarray:
    """(m, C, *S) with 1-3 spatial axes as a (m, C, A, B, W) view (unit axes in front)."""
    return v[(slice(None), slice(None)) + (None,) * (3 - nd)]


def fill_padded(xp: np.ndarray, x: np.ndarray, g) -> None:
    """``_unfold.fill_padded`` for 1-3 spatial axes: x (m, C, *S) into xp (m, C, alloc)."""
    lead = (1,) * (3 - g.nd)
    Sp, pl = lead + g.Sp, (0,) * (3 - g.nd) + g.pl
    xs = x[(slice(None), slice(None)) + tuple(slice(0, e) for e in g.Se)]
    _fill(xp, as3d(xs, g.nd), Sp[0], Sp[1], Sp[2], pl[0], pl[1], pl[2])


@njit(nogil=True, cache=CACHE)
def _fill(xp, x5, P0, P1, P2, l0, l1, l2):  # pragma: no cover - compiled
    m, C, E0, E1, E2 = x5.shape
    A = xp.shape[2]
    isz = xp.itemsize
    L = VECTOR_BITS // (8 * isz)  # whole vectors, then the rest one by one
    nv = E2 // L
    for s in range(m):
        for c in range(C):
            row = xp[s, c]
            pos = 0
            for d in range(P0):
                di = d - l0
                for hh in range(P1):
                    hi = hh - l1
                    if 0 <= di < E0 and 0 <= hi < E1:
                        for w in range(l2):
                            row[pos + w] = 0
                        if x5.strides[4] == isz:  # a contiguous line: vector copy
                            src = x5.ctypes.data + (s * x5.strides[0] + c * x5.strides[1]
                                                    + di * x5.strides[2] + hi * x5.strides[3])
                            copy_vectors(row, row.ctypes.data + (pos + l2) * isz, src, nv)
                            for w in range(nv * L, E2):
                                row[pos + l2 + w] = x5[s, c, di, hi, w]
                        else:
                            for w in range(E2):
                                row[pos + l2 + w] = x5[s, c, di, hi, w]
                        for w in range(l2 + E2, P2):
                            row[pos + w] = 0
                    else:
                        for w in range(P2):
                            row[pos + w] = 0
                    pos += P2
            for w in range(pos, A):
                row[w] = 0
