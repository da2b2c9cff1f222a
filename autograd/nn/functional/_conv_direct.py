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
against ~65 for im2col + folded GEMM + shift-sum). Forward tiles are vectors of
real outputs (the padded grid's gap columns are never computed), written in
place with the bias; the weight gradient reads the output gradient transposed
onto the padded grid (gaps zero), so its sums over positions stay in registers.

Used for float32 and float64 stride-1 convolutions with one group, a kernel
larger than 1 and output channels a multiple of the forward tile's rows; the
choice depends on shapes and dtype only, so results never depend on threads.
"""
from __future__ import annotations

from math import prod

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import as_strided

from . import _im2col as K
from ._simd import BLOCKS, CACHE, DW_J, DW_KPAD, dw_tile1, dw_tile2, dw_tile3, dw_tile4, fwd_tile, lanes

__all__: list = []

RF, VF = BLOCKS[0]   # forward tile: output channels x vectors of positions
J1, J2, J3, J4 = DW_J[1], DW_J[2], DW_J[3], DW_J[4]  # weight-gradient tiles' kernel offsets


class Direct:
    """A stride-1 convolution ``g`` with weight shape (Co, C, *K), run on the SIMD tiles."""

    def __init__(self, g, w_shape, dtype):
        self.g, self.Co, self.C = g, w_shape[0], w_shape[1]
        self.dtype = np.dtype(dtype)
        self.L = lanes(self.dtype.itemsize)
        self.slack = self.L  # padded-buffer elements a line's last, partial vector may read past the end
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
        """The chunk (rows [a, b), or lines ``h`` of row a) of ``out`` (m, Co, *O) (+ bias).

        Tiles are vectors of real outputs only, written in place: each vector reads its own
        window of the padded input, so the gap columns of the padded grid cost nothing and
        nothing is copied out afterwards (a line's last, partial vector goes through a
        scratch slot)."""
        p0, _ = self.g.span(a, b, h)
        o5, s1, s2 = self.chunk(out, a, b, h)
        st = np.array([v // o5.itemsize for v in o5.strides], np.int64)
        flat = as_strided(o5, (1 + sum((d - 1) * v for d, v in zip(o5.shape, st)),), (o5.itemsize,))
        bb = K.workspace("bias", (self.Co,), self.dtype)
        if bias is None:
            bb.fill(0)
        else:
            bb[:] = bias
        scratch = K.workspace("direct", (VF, RF, self.L), self.dtype)
        _forward(xp, p0, wk, offs, flat, np.array(o5.shape, np.int64), st, s1, s2, bb, scratch)

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
def _forward(xp, p0, wk, offs, out, shape, st, s1, s2, bias, scratch):  # pragma: no cover - compiled
    """The chunk (m, Co, rows, lines, W) of ``shape`` and element strides ``st`` in ``out``
    (flat, from its first element) = bias + the convolution; output (i, j, w) of sample s
    is padded grid position ``p0 + i*s1 + j*s2 + w`` of ``xp[s]``."""
    V, R, L = scratch.shape
    m, R1, R2, W = shape[0], shape[2], shape[3], shape[4]
    vx = np.empty(V, np.int64)
    vo = np.empty(V, np.int64)
    vn = np.empty(V, np.int64)
    vy = np.empty(V, np.int64)
    vs = np.empty(V, np.int64)
    per_line = (W + L - 1) // L
    for s in range(m):
        xs = xp.ctypes.data + s * xp.strides[0]
        cnt = 0
        for i in range(R1):
            for j in range(R2):
                for v in range(per_line):
                    w0 = v * L
                    vx[cnt] = p0 + i * s1 + j * s2 + w0
                    vo[cnt] = s * st[0] + i * st[2] + j * st[3] + w0
                    vn[cnt] = min(L, W - w0)
                    cnt += 1
                    if cnt == V:
                        _group(xp, xs, wk, offs, out, st[1], bias, scratch, vx, vo, vn, vy, vs, V)
                        cnt = 0
        if cnt:
            for t in range(cnt, V):  # fill the group with copies of its first vector (same writes)
                vx[t], vo[t], vn[t] = vx[0], vo[0], vn[0]
            _group(xp, xs, wk, offs, out, st[1], bias, scratch, vx, vo, vn, vy, vs, cnt)


@njit(nogil=True, cache=CACHE)
def _group(xp, xs, wk, offs, out, cst, bias, scratch, vx, vo, vn, vy, vs, cnt):  # pragma: no cover
    """One group of V vectors for every tile of output channels."""
    isz = xp.itemsize
    V, R, L = scratch.shape
    nk = offs.shape[0]
    for r in range(wk.shape[0]):
        for t in range(V):
            if vn[t] == L:  # a whole vector: straight into the output
                vy[t] = out.ctypes.data + (vo[t] + r * R * cst) * isz
                vs[t] = cst
            else:  # the last, partial vector of a line: into its scratch slot
                vy[t] = scratch.ctypes.data + t * R * L * isz
                vs[t] = L
        fwd_tile(xp, xs, vx.ctypes.data, wk.ctypes.data + r * wk.strides[0], offs.ctypes.data, nk,
                 vy.ctypes.data, vs.ctypes.data, bias.ctypes.data + r * R * isz)
        for t in range(cnt):
            if vn[t] < L:
                for i in range(R):
                    o = vo[t] + (r * R + i) * cst
                    for q in range(vn[t]):
                        out[o + q] = scratch[t, i, q]


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
                for w in range(W):  # contiguous writes; the Co source lines stay in L1
                    for co in range(Co):
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
