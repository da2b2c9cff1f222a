"""Compiled per-channel kernels of the batch-statistics norm node (``_norm``), with numba.

numpy needs six passes over a channel block for the forward (sum, centre, square
sum, scale, shift, ReLU) and nine for the backward; these loops read the block
twice and write it once, with float64 accumulators (more accurate than numpy's
float32 sums; the forward's statistics in one shifted pass). Each call handles channels [c0, c1) of an
(A, C, L) C-contiguous array; the caller splits channel blocks over threads
(``nogil``), so the result never depends on the thread count. ``None`` when
numba is missing: ``_norm`` then runs its numpy passes.
"""
from __future__ import annotations

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; numpy fallback
    numba = None

__all__ = ["norm_forward", "norm_backward", "affine_eval"]

if numba is not None:
    _jit = numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"}, boundscheck=False)

    @_jit
    def norm_forward(x3, w, b, eps, relu, y, mean, var, invstd, c0, c1):  # pragma: no cover - compiled
        A, _, L = x3.shape
        n = A * L
        for c in range(c0, c1):
            # one pass: sums of (x - k) and its square, k = the channel's first value (any
            # value near the data keeps q/n - d*d free of cancellation in float64)
            k = float(x3[0, c, 0]) if n > 0 else 0.0
            s = 0.0
            q = 0.0
            for a in range(A):
                for i in range(L):
                    d = x3[a, c, i] - k
                    s += d
                    q += d * d
            d = s / n
            m = k + d
            v = max(q / n - d * d, 0.0)
            inv = 1.0 / (v + eps) ** 0.5
            sc = w[c] * inv
            sh = b[c] - m * sc
            for a in range(A):
                for i in range(L):
                    t = x3[a, c, i] * sc + sh
                    if relu and t < 0.0:
                        t = 0.0
                    y[a, c, i] = t
            mean[c], var[c], invstd[c] = m, v, inv

    @_jit
    def norm_backward(g3, x3, y3, w, mean, invstd, need_x, relu, dx, sgxhat, sg, c0, c1):  # pragma: no cover
        A, _, L = x3.shape
        n = A * L
        for c in range(c0, c1):
            m, s = mean[c], invstd[c]
            t0 = 0.0
            t1 = 0.0
            for a in range(A):
                for i in range(L):
                    gv = g3[a, c, i]
                    if relu and not y3[a, c, i] > 0.0:
                        gv = 0.0
                    t0 += gv
                    t1 += gv * (x3[a, c, i] - m)
            q = t1 * s
            sg[c], sgxhat[c] = t0, q
            if need_x:
                scale = w[c] * s
                k1 = scale * s * q / n
                k0 = scale * t0 / n
                for a in range(A):
                    for i in range(L):
                        gv = g3[a, c, i]
                        if relu and not y3[a, c, i] > 0.0:
                            gv = 0.0
                        dx[a, c, i] = scale * gv - k1 * (x3[a, c, i] - m) - k0

    # No fastmath here: x * scale and + shift round separately, exactly as the numpy
    # passes (and the graph path) do, so eval outputs are bitwise the same either way.
    @numba.njit(nogil=True, cache=True, boundscheck=False)
    def affine_eval(x3, scale, shift, relu, y, c0, c1):  # pragma: no cover - compiled
        A, _, L = x3.shape
        for a in range(A):
            for c in range(c0, c1):
                sc, sh = scale[c], shift[c]
                for i in range(L):
                    t = x3[a, c, i] * sc + sh
                    if relu and t <= 0:  # np.maximum(t, 0): +0.0 for -0.0 too, NaN stays NaN
                        y[a, c, i] = 0
                    else:
                        y[a, c, i] = t
else:  # pragma: no cover
    norm_forward = norm_backward = affine_eval = None
