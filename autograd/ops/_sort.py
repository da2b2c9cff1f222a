"""Sorting and order statistics: sort, argsort, topk, kthvalue, median."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._util import wrap_dim

_make = Tensor._make


def _vi(values, indices):
    from ._reduce import values_indices
    return values_indices(values, indices)


def _argsort(a: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort; NaN sorts as the largest value (PyTorch)."""
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    # Descending and stable: ascending on the reversed axis, reversed back.
    n = a.shape[dim]
    rev = np.flip(np.argsort(np.flip(a, dim), axis=dim, kind="stable"), dim)
    return (n - 1) - rev


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Values sorted along ``dim`` and their indices (always stable here)."""
    from ._index import gather
    if x._data.ndim == 0:
        wrap_dim(dim, 0)
        return _vi(x.clone(), _make(np.zeros((), np.int64)))
    d = wrap_dim(dim, x._data.ndim)
    idx = _argsort(x._data, d, descending).astype(np.int64)
    return _vi(gather(x, d, idx), _make(idx))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(x, dim, descending, stable).indices


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    from ._index import gather
    from ._shape import narrow
    n = x._data.shape[wrap_dim(dim, x._data.ndim)] if x._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x._data.ndim == 0:
        return _vi(x.clone(), _make(np.zeros((), np.int64)))
    vals, idx = sort(x, dim, descending=largest)
    idx = narrow(idx, dim, 0, k)
    return _vi(gather(x, dim, idx), idx)


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    from ._index import gather
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d] if x._data.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError("kthvalue(): selected number k out of range for dimension " + str(dim))
    idx = np.take(_argsort(x._data, d, False), [k - 1], axis=d).astype(np.int64)
    vals = gather(x, d, idx)
    if not keepdim:
        vals, idx = vals.squeeze(d), idx.squeeze(d)
    return _vi(vals, _make(idx))


def median(x: Tensor, dim=None, keepdim: bool = False):
    """The lower median (PyTorch's), of all elements or along ``dim`` with its index."""
    if dim is None:
        flat = x.reshape(-1)
        return kthvalue(flat, (flat._data.size + 1) // 2, 0).values
    n = x._data.shape[wrap_dim(dim, x._data.ndim)] if x._data.ndim else 1
    return kthvalue(x, (n + 1) // 2, dim, keepdim)


