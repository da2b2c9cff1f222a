"""Stride-1 convolutions with the last kernel axis folded into the GEMM's output rows.

In the flat padded layout (see ``_im2col``), kernel offset ``j`` along the last
axis only shifts the window by ``j * d`` columns. So instead of unfolding all
``k^d`` taps (a GEMM with M = Co rows, inner dimension C * k^d), the column
matrix holds the ``k^(d-1)`` taps of the other axes over a span ``(k - 1) * d``
columns longer, and one GEMM computes every last-axis tap at once::

    P[(j, co), p] = sum_{c, t} w[co, c, t, j] * xp[c, off_t + p]
    y[co, p]      = sum_j P[(j, co), p + j * d]

The adjoints fold the same way: the output gradient, shifted by ``j * d`` per
tap, is stacked into ``k * Co`` rows. Why: a U-Net's convolutions have 16-64
output channels, and OpenBLAS runs GEMMs with so few rows at a third to a half
of its speed (measured 51 GFLOP/s per core for 16 x 432 x 8192 against 99 for
the folded 48 x 144 x 8192); the column matrix is also ``k`` times smaller, so
im2col and col2im stream ``k`` times less memory. The shift-sum costs a few
passes over the (cache-resident) output chunk. Whether a convolution is folded
depends on its shapes only, so results never depend on the thread count.
Stride-1 float convolutions with one group and whole forward tiles of output
channels run on the direct kernels instead (``_conv_direct``); this fold serves
the rest (groups, other channel counts, other dtypes).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._im2col import workspace

__all__: list = []

MAX_FOLD_ROWS = 64   # output channels per group above which a GEMM is already efficient
MIN_FOLD_INNER = 32  # folded inner dimension below which the GEMM is too thin to gain


class Fold:
    """The folded geometry of a stride-1 convolution ``g`` with weight ``w`` (Co, C/G, *K)."""

    def __init__(self, g, w_shape):
        self.g = g
        self.kw, self.dw = g.K[-1], g.d[-1]
        self.ext = (self.kw - 1) * self.dw
        self.cg = w_shape[0] // g.G
        self.cin = w_shape[1]
        self.taps = list(np.ndindex(*g.K[:-1]))
        self.k9 = len(self.taps)
        self.rg = self.cin * self.k9  # folded inner dimension per group
        self.offsets = [sum(t[i] * g.d[i] * g.st[i] for i in range(g.nd - 1)) for t in self.taps]

    # -- weights ---------------------------------------------------------------------
    def weight(self, w: np.ndarray) -> np.ndarray:
        """(G, kw * cg, C/G * k9): row (j, co), column (c, t) = w[co, c, t, j]."""
        g = self.g
        v = w.reshape((g.G, self.cg, self.cin) + g.K)
        return np.ascontiguousarray(np.moveaxis(v, -1, 1)).reshape(g.G, self.kw * self.cg, self.rg)

    def weight_t(self, w: np.ndarray) -> np.ndarray:
        """(G, C/G * k9, kw * cg): the transpose of :meth:`weight` (for the input gradient)."""
        return np.ascontiguousarray(self.weight(w).transpose(0, 2, 1))

    def unfold_weight_grad(self, acc: np.ndarray) -> np.ndarray:
        """(G, C/G * k9, kw * cg) accumulated products -> the weight gradient (Co, C/G, *K)."""
        g = self.g
        v = acc.reshape((g.G, self.cin) + g.K[:-1] + (self.kw, self.cg))
        nk = g.nd - 1
        # (G, cin, *K[:-1], kw, cg) -> (G, cg, cin, *K[:-1], kw)
        order = (0, 3 + nk, 1) + tuple(range(2, 2 + nk)) + (2 + nk,)
        return np.ascontiguousarray(v.transpose(order)).reshape((g.G * self.cg, self.cin) + g.K)

    # -- columns ---------------------------------------------------------------------
    def span(self, a, b, h):
        p0, n = self.g.span(a, b, h)
        return p0, n, n + self.ext

    def im2col(self, xp: np.ndarray, a, b, h, dt) -> np.ndarray:
        """Folded column matrix (C * k9, m * (n + ext)) of the chunk, in a workspace."""
        g = self.g
        m, C = xp.shape[:2]
        p0, _, ne = self.span(a, b, h)
        it = xp.itemsize
        ks = tuple(g.d[i] * g.st[i] * it for i in range(g.nd - 1))
        win = as_strided(xp[:, :, p0:], (C,) + g.K[:-1] + (m, ne), (xp.strides[1],) + ks + (xp.strides[0], it),
                         writeable=False)
        col = workspace("col", (C * self.k9, m * ne), dt)
        np.copyto(col.reshape(win.shape), win)
        return col

    def col2im(self, xp: np.ndarray, col: np.ndarray, a, b, h) -> None:
        """Add the folded columns back into the padded buffer ``xp`` (adjoint of :meth:`im2col`)."""
        m, C = xp.shape[:2]
        p0, _, ne = self.span(a, b, h)
        cv = col.reshape(C, self.k9, m, ne)
        for j, off in enumerate(self.offsets):
            dst = xp[:, :, p0 + off: p0 + off + ne]
            np.add(dst, cv[:, j].swapaxes(0, 1), out=dst)

    # -- forward ---------------------------------------------------------------------
    def forward(self, wf: np.ndarray, xp: np.ndarray, out: np.ndarray, a, b, h, bias, dt) -> None:
        """The chunk of ``out`` (m, Co, *O) of ``conv`` (+ bias): the folded GEMM, then the
        shift-sum of its last-axis taps written straight into the output (fused with the
        crop of the padded grid, so the unshifted grid is never stored)."""
        g, kw, cg, dw = self.g, self.kw, self.cg, self.dw
        m = xp.shape[0]
        _, n, ne = self.span(a, b, h)
        col = self.im2col(xp, a, b, h, dt)
        P = workspace("fold", (g.G * kw * cg, m * ne), dt)
        for gi in range(g.G):
            np.matmul(wf[gi], col[gi * self.rg:(gi + 1) * self.rg], out=P[gi * kw * cg:(gi + 1) * kw * cg])
        pv = P.reshape(g.G, kw, cg, m, ne)
        dst = out[:, :, a:b] if h is None else out[:, :, a, h[0]:h[1]]
        for gi in range(g.G):
            d = dst[:, gi * cg:(gi + 1) * cg]
            tap = [g.valid(pv[gi, j, :, :, j * dw:j * dw + n], a, b, h).swapaxes(0, 1) for j in range(kw)]
            np.add(tap[0], tap[1], out=d)
            for t in tap[2:]:
                d += t
            if bias is not None:
                d += bias[gi * cg:(gi + 1) * cg].reshape((-1,) + (1,) * (d.ndim - 2))

    # -- adjoints --------------------------------------------------------------------
    def stack_grad(self, src: np.ndarray, m: int, a, b, h, dt) -> np.ndarray:
        """(G * kw * cg, m * (n + ext)): the output-gradient grid ``src`` (Co, m * n) shifted by
        ``j * d`` columns for each last-axis tap ``j`` (zeros where nothing is shifted in)."""
        g, kw, cg, dw = self.g, self.kw, self.cg, self.dw
        _, n, ne = self.span(a, b, h)
        s = workspace("fold", (g.G, kw, cg, m, ne), dt)  # never live with the forward's
        sv = src.reshape(g.G, cg, m, n)
        for j in range(kw):
            lo = j * dw
            if lo:
                s[:, j, :, :, :lo] = 0
            s[:, j, :, :, lo:lo + n] = sv
            if lo + n < ne:
                s[:, j, :, :, lo + n:] = 0
        return s.reshape(g.G * kw * cg, m * ne)


def plan(g, w_shape) -> Fold | None:
    """A :class:`Fold` when folding pays for this geometry and weight shape, else None."""
    if not g.flat or g.K[-1] < 2:
        return None
    f = Fold(g, w_shape)
    if f.cg > MAX_FOLD_ROWS or f.rg < MIN_FOLD_INNER:
        return None
    return f
