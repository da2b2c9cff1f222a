"""The input gradient of a stride-1 convolution as a forward convolution.

For stride 1, ``dx = conv(g, flip(w)^T)`` with pads ``d*(k-1) - pad`` per side:
the same sums as the col2im adjoint (the math of ``conv_backward``), in another
order. It is cheaper when the input has at least twice the output's channels (a
U-Net's merge convolutions): one im2col of ``g`` (Co*K rows) and one GEMM with a
long inner dimension, instead of a GEMM with inner dimension Co writing C*K rows
of columns and k^d strided adds of them (col2im), which streams about twice as
much memory (measured: 20-33 % less time there, 25 % more with C == Co). The
order of the sums depends on the geometry only, never on the thread count.
"""
from __future__ import annotations

import numpy as np

from . import _im2col as K

__all__: list = []


def flipped_geometry(w: np.ndarray, g: K.Geom, any_ratio: bool = False):
    """(flipped, transposed weight (C, Co, *K), geometry of the gradient conv), or None
    when the col2im adjoint is the better (or the only) way. ``any_ratio``: whatever the
    channels (the direct convolution, ``_conv_direct``, has no column matrix to save)."""
    Co, C = w.shape[0], w.shape[1] * g.G
    if not g.flat or g.G != 1 or (2 * Co > C and not any_ratio):
        return None
    ext = [g.d[i] * (g.K[i] - 1) for i in range(g.nd)]
    pl = tuple(ext[i] - g.pl[i] for i in range(g.nd))
    pr = tuple(ext[i] - g.pr[i] for i in range(g.nd))
    if min(pl + pr) < 0:  # more padding than the kernel reaches: rows no window reads
        return None
    gt = K.Geom(g.O, g.K, (1,) * g.nd, pl, pr, g.d, 1)
    if gt.O != g.S:
        return None
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * g.nd
    return np.ascontiguousarray(w.swapaxes(0, 1)[flip]), gt
