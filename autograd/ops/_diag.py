"""Triangles and diagonals: tril/triu, diagonal, diag, diag_embed, diagflat, trace, meshgrid."""
from __future__ import annotations

import warnings

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import wrap_dim

_make = Tensor._make


class TrilBackward0(Node):
    def forward(self, x, k, upper):
        if x.ndim < 2:
            raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                               "dimensions")
        self.k, self.upper = k, upper
        return np.triu(x, k) if upper else np.tril(x, k)

    def backward(self, g):
        return apply(TrilBackward0, (g,), self.k, self.upper)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (elements above ``diagonal`` zeroed)."""
    return apply(TrilBackward0, (x,), int(diagonal), False)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (elements below ``diagonal`` zeroed)."""
    return apply(TrilBackward0, (x,), int(diagonal), True)


def _diag_dims(nd: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


class DiagonalBackward0(Node):
    def forward(self, x, offset, d1, d2):
        self.offset, self.d1, self.d2, self.in_shape = offset, d1, d2, x.shape
        return np.diagonal(x, offset, d1, d2).copy()

    def backward(self, g):
        return apply(DiagonalScatterBackward0, (g,), self.offset, self.d1, self.d2, self.in_shape)


class DiagonalScatterBackward0(Node):
    """Zeros of ``shape`` with ``g`` written on the diagonal (the adjoint of ``diagonal``)."""

    def forward(self, g, offset, d1, d2, shape):
        self.offset, self.d1, self.d2 = offset, d1, d2
        z = np.zeros(shape, dtype=g.dtype)
        _diag_view(z, offset, d1, d2)[...] = g
        return z

    def backward(self, gg):
        return apply(DiagonalBackward0, (gg,), self.offset, self.d1, self.d2)


def _diag_view(z: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """A writable view of ``z``'s diagonal (np.diagonal's view is read-only)."""
    st = z.strides
    n1, n2 = z.shape[d1], z.shape[d2]
    start = [0] * z.ndim
    if offset >= 0:
        start[d2] = min(offset, n2)
        n = max(min(n1, n2 - offset), 0)
    else:
        start[d1] = min(-offset, n1)
        n = max(min(n1 + offset, n2), 0)
    base = z[tuple(slice(s, None) for s in start)]
    rest = [i for i in range(z.ndim) if i not in (d1, d2)]
    shape = tuple(z.shape[i] for i in rest) + (n,)
    strides = tuple(st[i] for i in rest) + (st[d1] + st[d2],)
    return np.lib.stride_tricks.as_strided(base, shape, strides)


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as a new last dim."""
    d1, d2 = _diag_dims(x._data.ndim, dim1, dim2)
    return apply(DiagonalBackward0, (x,), int(offset), d1, d2)


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Place the last dim of ``x`` on the diagonals of new (dim1, dim2) planes."""
    nd = x._data.ndim + 1
    d1, d2 = _diag_dims(nd, dim1, dim2)
    n = x._data.shape[-1] + abs(int(offset)) if x._data.ndim else 1 + abs(int(offset))
    batch = list(x._data.shape[:-1])
    shape = []
    it = iter(batch)
    for i in range(nd):
        shape.append(n if i in (d1, d2) else next(it))
    if x._data.ndim == 0:
        x = x.reshape(1)
    return apply(DiagonalScatterBackward0, (x,), int(offset), d1, d2, tuple(shape))


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with ``x`` on a diagonal; 2-D input: that diagonal."""
    if x._data.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x._data.ndim == 2:
        return globals()["diagonal"](x, diagonal, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")


def diagflat(x: Tensor, offset: int = 0) -> Tensor:
    return diag_embed(x.reshape(-1), offset, 0, 1)


def trace(x: Tensor) -> Tensor:
    if x._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x._data.ndim}")
    return diagonal(x).sum()


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-D tensors (``indexing='ij'`` by default, as PyTorch)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: "
                           f"{indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    ts = [t.reshape(-1) for t in tensors]
    if len({t._data.dtype for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2  # 'xy': the first two axes trade places
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t._data.shape[0] for t in ts)
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        out.append(t.reshape(view).expand(*shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


NAMES = ("tril", "triu", "diagonal", "diag", "diag_embed", "diagflat", "trace")
