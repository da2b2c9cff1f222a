"""The numba-compiled sweep of :mod:`._diffusion_jit` (imported only when first used).

``exp`` is written out (``2^-w = 2^-f 2^-n`` with ``n`` the nearest integer,
a degree-7 polynomial for ``2^-f`` on [-1/2, 1/2], ``2^-n`` built from its
exponent bits) because numba's ``exp`` is a scalar library call without
Intel's SVML; written out, the loops vectorise.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from ._diffusion_jit import TAYLOR_2_POW_MINUS

c0, c1, c2, c3, c4, c5, c6, c7 = (np.float32(v) for v in TAYLOR_2_POW_MINUS)
_HALF, _CAP = np.float32(0.5), np.float32(127.0)


@intrinsic
def _as_float32(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (a register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(inline="always")
def _flux(t, r, c, lg, option):
    """``c t g(r t)`` with ``1/g = 2^(lg (r t)^2)`` (option 1) or ``1 + (r t)^2`` (option 2)."""
    w = r * t
    w = w * w
    if option == 2:
        return c * t / (np.float32(1.0) + w)
    w = w * lg
    wc = w if w < _CAP else _CAP  # NaN and overflow -> n = 127, 2^-n read as 0
    n = np.int32(wc + _HALF)
    f = wc - np.float32(n)
    p = c0 + f * (c1 + f * (c2 + f * (c3 + f * (c4 + f * (c5 + f * (c6 + f * c7))))))
    return c * t * p * _as_float32((np.int32(127) - n) << np.int32(23))


@numba.njit(nogil=True, cache=True, boundscheck=False, error_model="numpy")
def sweep(s, lo, hi, r, c, gam, lg, option, fa, fb, fp0, fp1, fq):
    """Update slabs [lo, hi) of every item of ``s`` (k, n, P, Q) in place."""
    k, n, P, Q = s.shape
    r0, r1, r2 = r[0], r[1], r[2]
    k0, k1, k2 = c[0], c[1], c[2]
    zero = np.float32(0.0)
    for b in range(k):
        prev, nxt = fa, fb
        for p in range(P):  # flux into slab lo from the one before (old values)
            for q in range(Q):
                prev[p, q] = _flux(s[b, lo, p, q] - s[b, lo - 1, p, q], r0, k0, lg, option) \
                    if lo > 0 else zero
        for i in range(lo, hi):
            last = i + 1 >= n
            for q in range(Q):
                fp0[q] = zero
            for p in range(P):
                row = s[b, i, p]
                if last:
                    for q in range(Q):
                        nxt[p, q] = zero
                else:
                    below = s[b, i + 1, p]
                    for q in range(Q):
                        nxt[p, q] = _flux(below[q] - row[q], r0, k0, lg, option)
                if p + 1 < P:
                    down = s[b, i, p + 1]
                    for q in range(Q):
                        fp1[q] = _flux(down[q] - row[q], r1, k1, lg, option)
                else:
                    for q in range(Q):
                        fp1[q] = zero
                fq[0] = zero
                for q in range(Q - 1):
                    fq[q + 1] = _flux(row[q + 1] - row[q], r2, k2, lg, option)
                fq[Q] = zero
                for q in range(Q):
                    row[q] += gam * ((nxt[p, q] - prev[p, q]) + (fp1[q] - fp0[q])
                                     + (fq[q + 1] - fq[q]))
                fp0, fp1 = fp1, fp0
            prev, nxt = nxt, prev
