"""nonzero, Tensor.unfold (sliding windows), repeat_interleave, view(dtype), __format__."""
from __future__ import annotations

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import wrap_dim

_make = Tensor._make


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    a = x._data if x._data.ndim else x._data.reshape(1)
    idx = np.nonzero(a)
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in idx)
    out = np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64)
    return _make(out if x._data.ndim else out[:, :0])


def argwhere(x: Tensor) -> Tensor:
    return nonzero(x)


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    return _make(np.asarray(np.count_nonzero(x._data, axis=dim), dtype=np.int64))


class UnfoldBackward0(Node):
    """``x.unfold(dim, size, step)``: windows of ``size`` every ``step`` as a new last dim."""

    def forward(self, x, dim, size, step):
        self.dim, self.size, self.step, self.n = dim, size, step, (x.shape[dim] if x.ndim else 1)
        if x.ndim == 0:
            return x.reshape(1).copy()
        win = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
        sl = [slice(None)] * win.ndim
        sl[dim] = slice(None, None, step)
        return np.ascontiguousarray(win[tuple(sl)])

    def backward(self, g):
        return apply(UnfoldAdjointBackward0, (g,), self.dim, self.size, self.step, self.n)


class UnfoldAdjointBackward0(Node):
    """Sum windows back into their places (one strided add per window offset)."""

    def forward(self, g, dim, size, step, n):
        self.dim, self.size, self.step = dim, size, step
        if g.ndim == 1 and n == 1 and size == 1 and g.shape == (1,):
            self.zero_d = True
            return g.reshape(())
        self.zero_d = False
        shape = list(g.shape[:-1])
        count = shape[dim]
        shape[dim] = n
        out = np.zeros(shape, dtype=g.dtype)
        om = np.moveaxis(out, dim, -1)
        gm = np.moveaxis(g, dim, -2)  # (..., count, size)
        for k in range(size):
            om[..., k:k + step * (count - 1) + 1:step] += gm[..., k]
        return out

    def backward(self, gg):
        if self.zero_d:
            return gg.reshape(1)
        return apply(UnfoldBackward0, (gg,), self.dim, self.size, self.step)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: all slices of ``size`` along ``dimension``, ``step`` apart."""
    dim = wrap_dim(dimension, x._data.ndim)
    n = x._data.shape[dim] if x._data.ndim else 1
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0 or size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    return apply(UnfoldBackward0, (x,), dim, int(size), int(step))


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``."""
    from ._index import take_axis
    if repeats is None:  # torch.repeat_interleave(counts): indices repeated by their counts
        r = x._data
        return _make(np.repeat(np.arange(r.size, dtype=np.int64), r.reshape(-1)))
    if dim is None:
        x = x.reshape(-1)
        dim = 0
    dim = wrap_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        x = x.reshape(1)
    n = x._data.shape[dim]
    r = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if r.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if (r < 0).any():
        raise RuntimeError("repeats can not be negative")
    if r.ndim == 1 and r.size not in (1, n):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {r.size} and input.size({dim}) = {n}")
    idx = np.repeat(np.arange(n, dtype=np.int64), r.reshape(-1) if r.ndim else int(r))
    return take_axis(x, dim, idx)


def view_dtype(x: Tensor, dtype) -> Tensor:
    """Reinterpret the bytes as ``dtype`` (the last dim rescales when the item size differs)."""
    dtype = np.dtype(dtype)
    a = x._data
    if dtype == a.dtype:
        return x
    if dtype.itemsize != a.itemsize:
        if a.ndim == 0:
            raise RuntimeError("self.dim() cannot be 0 if self.element_size() is not equal to "
                               "dtype.itemsize")
        if a.shape[-1] * a.itemsize % dtype.itemsize:
            raise RuntimeError("self.size(-1) must be divisible by "
                               f"{max(dtype.itemsize // a.itemsize, 1)} to view {a.dtype} as "
                               f"{dtype} (different element sizes), but got {a.shape[-1]}")
        if a.strides and a.strides[-1] != a.itemsize:
            raise RuntimeError("self.stride(-1) must be 1 to view as a dtype with a different "
                               "element size")
    out = _make(a.view(dtype), version=x._version)
    out._base = x if x._base is None else x._base
    return out


def format_tensor(x: Tensor, spec: str) -> str:
    """``f'{t:.3f}'``: format specs work on one-element tensors, as in PyTorch."""
    if x._data.ndim == 0:
        return format(x._data.item(), spec)
    if not spec:
        return str(x)
    raise TypeError("unsupported format string passed to Tensor.__format__")
