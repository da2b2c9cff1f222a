"""Building blocks of the convolution kernels: padded buffers, im2col / col2im, grid crops.

See ``_im2col`` for the layout. A chunk is output rows [a, b) or, with ``h = (h0, h1)``
(stride 1, 3D and more), lines [h0, h1) of the single row ``a`` (``b = a + 1``): in the
flat padded grid both are one contiguous run of columns (``Geom.span``).
"""
from __future__ import annotations

import numpy as np
from typing import TYPE_CHECKING

from numpy.lib.stride_tricks import as_strided

from . import _pad_jit

if TYPE_CHECKING:  # pragma: no cover
    from ._im2col import Geom

__all__: list = []


def fill_padded(xp, x, g: Geom) -> None:
    """Copy ``x`` (m, C, *S) into the zero-bordered padded buffer ``xp`` (m, C, alloc)."""
    if g.nd <= 3 and xp.dtype == x.dtype and xp.dtype.kind == "f" and xp.flags.c_contiguous:
        _pad_jit.fill_padded(xp, x, g)
        return
    grid = g.grid(xp)
    for i in range(g.nd):
        pre = (slice(None),) * (2 + i)
        if g.pl[i] > 0:
            grid[pre + (slice(0, g.pl[i]),)] = 0
        if g.pl[i] + g.Se[i] < g.Sp[i]:
            grid[pre + (slice(g.pl[i] + g.Se[i], None),)] = 0
    if xp.shape[2] > g.plane:
        xp[:, :, g.plane:] = 0
    inner = tuple(slice(g.pl[i], g.pl[i] + g.Se[i]) for i in range(g.nd))
    grid[(slice(None), slice(None)) + inner] = x[(slice(None), slice(None)) + tuple(slice(0, e) for e in g.Se)]


def windows(xp, g: Geom, a: int, b: int, flat: bool = False, h=None):
    """All kernel windows of ``xp`` for the chunk as one strided view.

    (C, *K, m, b-a, *O[1:]) holds only real outputs; ``flat`` (stride 1) gives
    (C, *K, m, columns) runs of the padded output grid instead (``Geom.span``).
    """
    m, C = xp.shape[:2]
    it = xp.itemsize
    ks = tuple(g.d[i] * g.st[i] * it for i in range(g.nd))
    if flat:
        p0, n = g.span(a, b, h)
        base = xp[:, :, p0:]
        tail, tstr = (n,), (it,)
    else:
        base = xp[:, :, g.s[0] * a * g.st[0]:]
        tail = (b - a,) + g.O[1:]
        tstr = tuple(g.s[i] * g.st[i] * it for i in range(g.nd))
    return as_strided(base, (C,) + g.K + (m,) + tail, (xp.strides[1],) + ks + (xp.strides[0],) + tstr,
                      writeable=False)


def im2col(col, xp, g: Geom, a: int, b: int, flat: bool = False, h=None) -> None:
    """Fill ``col`` (C*K, columns) with the windows of ``xp`` for the chunk (one copy)."""
    w = windows(xp, g, a, b, flat, h)
    np.copyto(col.reshape(w.shape), w)


def col2im(xp, col, g: Geom, a: int, b: int, h=None) -> None:
    """Add the columns ``col`` (C*K, m*Pc) back into the padded buffer ``xp`` (adjoint of im2col)."""
    m, C = xp.shape[:2]
    cv = col.reshape((C, g.kprod, m) + g.chunk_shape(a, b, h))
    for j in range(g.kprod):
        dst = g.window(xp, j, a, b, h)
        np.add(dst, cv[:, j].swapaxes(0, 1), out=dst)


def fill_grid(og, y, g: Geom, a: int, b: int, h=None) -> None:
    """Copy the chunk of ``y`` (m, Co, *O) into the grid chunk ``og`` (Co, m, Pc), zeroing gaps."""
    if g.flat:
        lead = (b - a,) + g.pshape[1:] if h is None else (h[1] - h[0],) + g.pshape[2:]
        v = og.reshape(og.shape[:2] + lead)
        first = 1 if h is None else 2
        for i in range(first, g.nd):
            if g.O[i] < g.Sp[i]:
                v[(slice(None),) * (2 + i - first + 1) + (slice(g.O[i], None),)] = 0
    src = y[:, :, a:b] if h is None else y[:, :, a, h[0]:h[1]]
    np.copyto(g.valid(og, a, b, h), src.swapaxes(0, 1))


def crop_grid(out, og, g: Geom, a: int, b: int, bias=None, h=None) -> None:
    """The chunk of ``out`` (m, Co, *O) = real outputs of the grid chunk ``og`` (+ bias)."""
    val = g.valid(og, a, b, h).swapaxes(0, 1)
    dst = out[:, :, a:b] if h is None else out[:, :, a, h[0]:h[1]]
    if bias is None:
        np.copyto(dst, val)
    else:
        np.add(val, bias.reshape((-1,) + (1,) * (dst.ndim - 2)), out=dst)


def crop_padded(out, xp, g: Geom, ra: int, rb: int, bias=None) -> None:
    """Rows [ra, rb) of ``out`` (m, C, *S) = interior of the padded buffer ``xp`` (+ bias)."""
    grid = g.grid(xp)
    bshape = (-1,) + (1,) * g.nd
    hi = min(rb, g.Se[0])
    if hi > ra:
        inner = (slice(g.pl[0] + ra, g.pl[0] + hi),) + tuple(
            slice(g.pl[i], g.pl[i] + g.Se[i]) for i in range(1, g.nd))
        src = grid[(slice(None), slice(None)) + inner]
        dst = out[(slice(None), slice(None), slice(ra, hi)) + tuple(slice(0, e) for e in g.Se[1:])]
        if bias is None:
            np.copyto(dst, src)
        else:
            np.add(src, bias.reshape(bshape), out=dst)
    for i in range(g.nd):
        lo = max(ra, g.Se[0]) if i == 0 else g.Se[i]
        if (i == 0 and lo < rb) or (i > 0 and lo < g.S[i]):
            # rows no window reads (a transposed conv's output_padding): zero gradient (+ bias)
            sl = (slice(lo, rb),) if i == 0 else (slice(ra, rb),) + (slice(None),) * (i - 1) + (slice(lo, None),)
            out[(slice(None), slice(None)) + sl] = 0 if bias is None else bias.reshape(bshape)


def crop_rows(part, gxp, g: Geom, r0, r1) -> None:
    """``part`` (m, C, r1-r0, *S[1:]) = unpadded input rows [r0, r1) of the padded buffer."""
    grid = g.grid(gxp)
    src = grid[(slice(None), slice(None), slice(g.pl[0] + r0, g.pl[0] + r1))
               + tuple(slice(g.pl[i], g.pl[i] + g.S[i]) for i in range(1, g.nd))]
    if all(g.Se[i] == g.S[i] for i in range(1, g.nd)):
        np.copyto(part, src)
    else:
        part.fill(0)
        part[(Ellipsis,) + tuple(slice(0, e) for e in g.Se[1:])] = src[
            (Ellipsis,) + tuple(slice(0, e) for e in g.Se[1:])]
