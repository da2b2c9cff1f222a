"""Direct (no column matrix) stride-1 convolution and weight gradient, on compiled SIMD tiles.

In the flat padded layout (see ``_im2col``), output position ``p`` of a stride-1
convolution reads ``xp[c, p + off_t]`` for kernel offset ``t``: every (channel,
offset) pair ``k`` is one shift of the padded input. So

    y[co, p]     = sum_k w[co, k] * xp[off_k + p]       (forward; the input gradient is
                                                          the forward of the flipped kernel)
    dw[co, k]    = sum_p g[co, p] * xp[off_k + p]       (weight gradient)

are computed straight from the padded input by the register-blocked tiles of
``_simd``, without an im2col copy, a GEMM on padded columns or a shift-sum. Why:
a U-Net's convolutions have 16-64 channels, where a GEMM on an unfolded column
matrix runs at half speed and the unfolding and cropping passes cost as much
again (measured on one core, 3D 16->16 channels: 122 GFLOP/s of real outputs,
against ~65 for im2col + folded GEMM + shift-sum).

Used for float32 and float64 stride-1 convolutions with one group, a kernel
larger than 1 and output channels a multiple of the forward tile's rows; the
choice depends on shapes and dtype only, so results never depend on threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import as_strided

from math import prod

from . import _im2col as K
from ._simd import BLOCKS, CACHE, copy_add, DW_J, DW_KPAD, dw_tile1, dw_tile2, dw_tile3, dw_tile4, fwd_tile, lanes

__all__: list = []

RF, VF = BLOCKS[0]   # forward tile: output channels x vectors of positions
J1, J2, J3, J4 = DW_J[1], DW_J[2], DW_J[3], DW_J[4]  # weight-gradient tiles' kernel offsets


class Direct:
    """A stride-1 convolution ``g`` with weight shape (Co, C, *K), run on the SIMD tiles."""

    def __init__(self, g, w_shape, dtype):
        self.g, self.Co, self.C = g, w_shape[0], w_shape[1]
        self.dtype = np.dtype(dtype)
        self.L = lanes(self.dtype.itemsize)
        self.B = VF * self.L          # positions per forward tile
        self.slack = self.B           # padded-buffer elements a forward tile may read past the end
        self.nk = self.C * g.kprod
        self.nkp = -(-self.nk // DW_KPAD) * DW_KPAD
        self.cop = -(-self.Co // self.L) * self.L  # output channels padded to whole vectors

    def offsets(self, chan: int) -> np.ndarray:
        """(C * kprod,) element offsets ``c * chan + off_t`` into one sample's padded buffer."""
        c = np.arange(self.C, dtype=np.int64)[:, None] * chan
        return (c + np.asarray(self.g.offsets, dtype=np.int64)[None, :]).ravel()

    def weight(self, w: np.ndarray) -> np.ndarray:
        """(Co / RF, C * kprod, RF): each forward tile's weights, kernel offset by offset."""
        return np.ascontiguousarray(w.reshape(self.Co // RF, RF, self.nk).transpose(0, 2, 1))

    # -- forward -------------------------------------------------------------------------
    def forward(self, wk, offs, xp, out, a, b, h, bias) -> None:
        """The chunk (rows [a, b), or lines ``h`` of row a) of ``out`` (m, Co, *O) (+ bias):
        tile by tile of the padded output grid, each tile's real outputs copied out while
        they are in the L1 cache."""
        p0, n = self.g.span(a, b, h)
        tile = K.workspace("direct", (self.Co, self.B), self.dtype)
        o5, s1, s2 = self.chunk(out, a, b, h)
        # the chunk as a flat run of its array's memory, strides in elements: the copies
        # out of a tile are then contiguous loops numba vectorizes
        st = np.array([v // o5.itemsize for v in o5.strides], np.int64)
        flat = as_strided(o5, (1 + sum((d - 1) * v for d, v in zip(o5.shape, st)),), (o5.itemsize,))
        _forward(xp, p0, n, wk, offs, tile, flat, np.array(o5.shape, np.int64), st, s1, s2,
                 bias if bias is not None else tile[0], bias is not None)

    # -- weight gradient ---------------------------------------------------------------------
    def new_acc(self) -> np.ndarray:
        """Zeroed partial sums of a part: (padded kernel offsets, padded output channels)."""
        return np.zeros((self.nkp, self.cop), self.dtype)

    def padded_offsets(self, chan: int) -> np.ndarray:
        """:meth:`offsets` padded to whole weight-gradient tiles (the padding sums are dropped)."""
        o = np.zeros(self.nkp, np.int64)
        o[:self.nk] = self.offsets(chan)
        return o

    def chunk(self, y: np.ndarray, a, b, h) -> tuple:
        """(the chunk of y (m, Co, *O) as (m, Co, rows, lines, W), row and line strides of the
        flat padded output grid)."""
        g = self.g
        if g.nd == 1:
            return y[:, :, None, None, a:b], 0, 0
        if g.nd == 2:
            return y[:, :, None, a:b], 0, g.st[0]
        if h is None:
            return y[:, :, a:b], g.inner, g.st[1]
        return y[:, :, a:a + 1, h[0]:h[1]], 0, g.st[1]

    def finish(self, acc: np.ndarray) -> np.ndarray:
        """Weight gradient (Co, C, *K) from the summed partials."""
        return np.ascontiguousarray(acc[:self.nk, :self.Co].T).reshape((self.Co, self.C) + self.g.K)


def weight_grad(d: Direct, y: np.ndarray, x: np.ndarray | None, need_w: bool, need_b: bool):
    """(dw, db) of the convolution ``d`` for output gradient y (N, Co, *O) and input x
    (N, C, *S), each None unless asked for. Threads split the rows as ``conv_backward``
    does; the per-part sums are added in part order, so threads never change the bits."""
    g, Co, C, dt = d.g, d.Co, d.C, d.dtype
    N, it = y.shape[0], y.itemsize
    T = K.threads_for_gemm(N * prod(g.O) * d.nk * Co)
    crows = 16 * Co  # the transposed gradient chunk stays within a few hundred KB (L2)

    def work(segs):
        acc = d.new_acc() if need_w else None
        bacc = np.zeros(d.cop, dt) if need_b else None
        for n0, m, ra, rb in segs:
            if need_w:
                xp = K.workspace("xp", (m, C, g.alloc), dt)
                K.fill_padded(xp, x[n0:n0 + m], g)
                offs = d.padded_offsets(g.alloc)
            for a, b, h in K.row_chunks(g, ra, rb, crows, m, it, T):
                p0, n = g.span(a, b, h)
                gt = K.workspace("gt", (m, n, d.cop), dt)
                y5, s1, s2 = d.chunk(y[n0:n0 + m], a, b, h)
                _fill_t(gt, y5, s1, s2)
                if need_b:  # a GEMV over the cache-resident chunk (the grid's gaps are zero)
                    ones = K.workspace("ones", (m * n,), dt)
                    ones.fill(1)
                    bacc += ones @ gt.reshape(m * n, d.cop)
                if need_w:
                    _weight_grad(gt, xp, p0, offs, acc, d.L)
        return acc, bacc
    results = K.run_threads(work, K.split_rows(N, g.O[0], T, d.nk * g.inner * it))
    gw = gb = None
    if need_w:
        gw = d.finish(np.sum([r[0] for r in results], axis=0))
    if need_b:
        gb = np.sum([r[1] for r in results], axis=0)[:Co]
    return gw, gb


def plan(g, w_shape, dtype) -> Direct | None:
    """A :class:`Direct` for a stride-1 convolution it runs, else None (GEMM paths)."""
    if not g.flat or g.G != 1 or g.kprod < 2 or np.dtype(dtype) not in (np.float32, np.float64):
        return None
    if w_shape[0] % RF:
        return None
    return Direct(g, w_shape, dtype)


@njit(nogil=True, cache=CACHE)
def _forward(xp, p0, n, wk, offs, tile, out, shape, st, s1, s2, bias, has_bias):  # pragma: no cover
    """The chunk (m, Co, rows, lines, W) of ``shape`` and element strides ``st`` in ``out``
    (flat, from its first element) (+ bias) = the convolution at padded grid positions
    [p0, p0 + n) (row i, line j, column w at ``i*s1 + j*s2 + w``), one tile of B at a time."""
    m = xp.shape[0]
    isz = xp.itemsize
    nk = offs.shape[0]
    ncb, B = wk.shape[0], tile.shape[1]
    Co, R1, R2, W = shape[1], shape[2], shape[3], shape[4]
    L = B // VF
    zero = tile.dtype.type(-0.0)  # x + -0.0 is x for every x, -0.0 included
    for s in range(m):
        xs = xp.ctypes.data + (s * xp.strides[0] // isz + p0) * isz
        for q0 in range(0, n, B):
            for r in range(ncb):
                fwd_tile(xp, xs + q0 * isz, wk.ctypes.data + r * wk.strides[0], offs.ctypes.data, nk,
                         tile.ctypes.data + r * wk.shape[2] * B * isz, B)
            p, end = q0, min(q0 + B, n)
            while p < end:  # copy out the runs of real outputs in the tile
                i = p // s1 if s1 else 0
                rem = p - i * s1
                j = rem // s2 if s2 else 0
                w = rem - j * s2
                if i >= R1:
                    break
                if j >= R2:  # the gap lines at the end of a row
                    p = (i + 1) * s1
                    continue
                if w >= W:  # the gap columns at the end of a line
                    p = i * s1 + (j + 1) * s2
                    continue
                run = min(W - w, end - p)
                t0 = p - q0
                o = s * st[0] + i * st[2] + j * st[3] + w
                nv = run // L
                for co in range(Co):
                    oc = o + co * st[1]
                    b = bias[co] if has_bias else zero
                    copy_add(tile, out.ctypes.data + oc * isz, tile.ctypes.data + (co * B + t0) * isz, nv, b)
                    for t in range(nv * L, run):
                        out[oc + t] = tile[co, t0 + t] + b
                p += run


@njit(nogil=True, cache=CACHE)
def _fill_t(gt, y5, s1, s2):  # pragma: no cover - compiled
    """gt (m, n, cop) = the chunk y5 (m, Co, rows, lines, W) transposed onto the flat padded
    output grid (rows ``s1`` and lines ``s2`` positions apart); gaps and padding channels 0."""
    gt[:] = 0
    m, Co, R1, R2, W = y5.shape
    for s in range(m):
        for i in range(R1):
            for j in range(R2):
                base = i * s1 + j * s2
                for co in range(Co):
                    for w in range(W):
                        gt[s, base + w, co] = y5[s, co, i, j, w]


@njit(nogil=True, cache=CACHE)
def _weight_grad(gt, xp, p0, offs, acc, L):  # pragma: no cover - compiled
    """acc (nkp, cop) += the chunk's products: gt (m, n, cop) transposed output-gradient grid
    whose first position is padded position p0, xp (m, C, alloc) the padded input."""
    m, n, cop = gt.shape
    isz = gt.itemsize
    nkp = offs.shape[0]
    for s in range(m):
        xs = xp.ctypes.data + (s * xp.strides[0] // isz + p0) * isz
        gs = gt.ctypes.data + s * n * cop * isz
        for c0 in range(0, cop, 4 * L):
            rv = min(4, (cop - c0) // L)
            J = J1 if rv == 1 else J2 if rv == 2 else J3 if rv == 3 else J4
            for k0 in range(0, nkp, J):
                ga, oa = gs + c0 * isz, offs.ctypes.data + k0 * 8
                aa = acc.ctypes.data + (k0 * cop + c0) * isz
                if rv == 1:
                    dw_tile1(gt, ga, cop, xs, oa, n, aa, cop)
                elif rv == 2:
                    dw_tile2(gt, ga, cop, xs, oa, n, aa, cop)
                elif rv == 3:
                    dw_tile3(gt, ga, cop, xs, oa, n, aa, cop)
                else:
                    dw_tile4(gt, ga, cop, xs, oa, n, aa, cop)
