"""Padding: constant, reflect, replicate and circular (``F.pad``); negative pads crop first."""
from __future__ import annotations

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor

_make = Tensor._make


def _pad_index(n: int, left: int, right: int, mode: str) -> np.ndarray:
    i = np.arange(-left, n + right)
    if mode == "reflect":
        if left >= n or right >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension of size {n}")
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        if left > n or right > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return i % n
    raise NotImplementedError(f"padding mode {mode!r}")


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad)//2`` dims; ``pad`` = (left_last, right_last, left_prev, ...)."""
    from ._index import take_axis
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    nd = x._data.ndim
    npairs = len(pad) // 2
    if npairs > nd:
        raise RuntimeError(f"Padding length too large: {len(pad)} for a {nd}-d input")
    widths = [(0, 0)] * nd
    for k in range(npairs):
        widths[nd - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if any(a < 0 or b < 0 for a, b in widths):  # negative pads crop first, in every mode
        crop = tuple(slice(max(-a, 0), max(x._data.shape[i] - max(-b, 0), max(-a, 0)))
                     for i, (a, b) in enumerate(widths))
        x = x[crop]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    if mode == "constant":
        return apply(ConstantPadBackward0, (x,), tuple(widths), value)
    out = x
    for d, (a, b) in enumerate(widths):
        if a or b:
            out = take_axis(out, d, _pad_index(x._data.shape[d], a, b, mode))
    return out


class ConstantPadBackward0(Node):
    def forward(self, x, widths, value):
        self.crop = tuple(slice(a, a + s) for (a, _), s in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.crop]
