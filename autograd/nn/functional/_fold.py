"""``unfold`` (im2col: sliding blocks to columns) and its adjoint ``fold`` (col2im).

Both loop over the kernel offsets with strided views (k^d copies / adds); each
is the other's backward, so gradients of any order work.

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> x = torch.randn(1, 2, 4, 4)
>>> cols = F.unfold(x, kernel_size=2, stride=2)
>>> tuple(cols.shape)
(1, 8, 4)
>>> bool((F.fold(cols, (4, 4), kernel_size=2, stride=2) == x).all())
True
"""
from __future__ import annotations

import math

import numpy as np

from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor
from ...ops._shape import squeeze, unsqueeze

__all__ = ["unfold", "fold"]


def _pair(v, name):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = tuple(v) * 2
        if len(v) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {v}")
        return tuple(int(a) for a in v)
    return (int(v),) * 2


class _Blocks:
    """Sliding-block geometry of a 2-D (N, C, H, W) plane."""

    def __init__(self, S, K, d, p, s):
        self.S, self.K, self.d, self.p, self.s = S, K, d, p, s
        if any(v <= 0 for v in K + d + s) or any(v < 0 for v in p):
            raise RuntimeError(f"kernel_size, dilation and stride must be positive and padding "
                               f"non-negative (got kernel_size={K}, dilation={d}, padding={p}, stride={s})")
        self.Sp = tuple(S[i] + 2 * p[i] for i in range(2))
        self.O = tuple((self.Sp[i] - d[i] * (K[i] - 1) - 1) // s[i] + 1 for i in range(2))
        self.kidx = list(np.ndindex(*K))

    def window(self, xp, j):
        k = self.kidx[j]
        return xp[(Ellipsis,) + tuple(slice(k[i] * self.d[i], k[i] * self.d[i] + self.s[i] * (o - 1) + 1,
                                            self.s[i]) for i, o in enumerate(self.O))]

    def inner(self):
        return (slice(None), slice(None)) + tuple(slice(self.p[i], self.p[i] + self.S[i]) for i in range(2))


class Im2ColBackward0(Node):
    def forward(self, x, b: _Blocks):
        self.b = b
        N, C = x.shape[:2]
        if any(b.p):
            xp = np.zeros((N, C) + b.Sp, dtype=x.dtype)
            xp[b.inner()] = x
        else:
            xp = x
        out = np.empty((N, C, len(b.kidx)) + b.O, dtype=x.dtype)
        for j in range(len(b.kidx)):
            out[:, :, j] = b.window(xp, j)
        return out.reshape(N, C * len(b.kidx), -1)

    def backward(self, g):
        return apply(Col2ImBackward0, (g,), self.b)


class Col2ImBackward0(Node):
    def forward(self, cols, b: _Blocks):
        self.b = b
        N = cols.shape[0]
        C = cols.shape[1] // len(b.kidx)
        cv = cols.reshape((N, C, len(b.kidx)) + b.O)
        xp = np.zeros((N, C) + b.Sp, dtype=cols.dtype)
        for j in range(len(b.kidx)):
            w = b.window(xp, j)
            w += cv[:, :, j]
        return np.ascontiguousarray(xp[b.inner()]) if any(b.p) else xp

    def backward(self, g):
        return apply(Im2ColBackward0, (g,), self.b)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks: (N, C, H, W) -> (N, C*kH*kW, L), L = number of blocks.

    Column ``c * kH * kW + i * kW + j`` holds kernel offset (i, j) of channel ``c``.
    """
    if not isinstance(input, Tensor) or input._data.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                                  f"{getattr(input, 'ndim', '?')}D)")
    x = input if input._data.ndim == 4 else unsqueeze(input, 0)
    b = _Blocks(tuple(x._data.shape[2:]), _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"),
                _pair(padding, "padding"), _pair(stride, "stride"))
    if any(o <= 0 for o in b.O):
        raise RuntimeError(f"Given input with spatial size {list(b.S)}, kernel_size={list(b.K)}, "
                           f"dilation={list(b.d)}, padding={list(b.p)}, calculated shape of the array "
                           f"of sliding blocks as {list(b.O)}, but its components must be at least one.")
    out = apply(Im2ColBackward0, (x,), b)
    return out if input._data.ndim == 4 else squeeze(out, 0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image: (N, C*kH*kW, L) -> (N, C, *output_size)."""
    if not isinstance(input, Tensor) or input._data.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                                  f"supported (got {getattr(input, 'ndim', '?')}D)")
    x = input if input._data.ndim == 3 else unsqueeze(input, 0)
    b = _Blocks(_pair(output_size, "output_size"), _pair(kernel_size, "kernel_size"),
                _pair(dilation, "dilation"), _pair(padding, "padding"), _pair(stride, "stride"))
    kp = len(b.kidx)
    if x._data.shape[1] % kp:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={x._data.shape[1]} and "
                           f"kernel_size={b.K}")
    if x._data.shape[2] != math.prod(b.O) or any(o <= 0 for o in b.O):
        raise RuntimeError(f"Given output_size={b.S}, kernel_size={b.K}, dilation={b.d}, padding={b.p}, "
                           f"stride={b.s}, expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {b.O[0]} * {b.O[1]} = {math.prod(b.O)}, but got "
                           f"input.size(2)={x._data.shape[2]}.")
    out = apply(Col2ImBackward0, (x,), b)
    return out if input._data.ndim == 3 else squeeze(out, 0)
