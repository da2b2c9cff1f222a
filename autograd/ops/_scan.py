"""Scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import const, np_aliases, quiet, wrap_dim

_make = Tensor._make


def _dim(x: Tensor, dim) -> int:
    if dim is None:
        raise TypeError("a scan needs a dim argument")
    return wrap_dim(dim, x._data.ndim)


def _cast(x: Tensor, dtype) -> Tensor:
    return x if dtype is None or np.dtype(dtype) == x._data.dtype else x.to(dtype)


def _revcumsum(g: Tensor, dim: int) -> Tensor:
    from ._shape import flip
    return flip(cumsum(flip(g, dim), dim), dim)


class CumsumBackward0(Node):
    def forward(self, x, dim):
        self.dim = dim
        if x.ndim == 0:
            return x.astype(np.int64) if x.dtype.kind in "iub" else x.copy()
        return np.cumsum(x, axis=dim, dtype=np.int64 if x.dtype.kind in "iub" else None)

    def backward(self, g):
        return _revcumsum(g, self.dim) if g._data.ndim else g


def cumsum(x: Tensor, dim=None, dtype=None) -> Tensor:
    """Running sum along ``dim`` (integer/bool inputs sum in int64, as PyTorch)."""
    return apply(CumsumBackward0, (_cast(x, dtype),), _dim(x, dim))


class CumprodBackward0(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, x, dim):
        self.dim = dim
        if x.ndim == 0:
            return x.astype(np.int64) if x.dtype.kind in "iub" else x.copy()
        return np.cumprod(x, axis=dim, dtype=np.int64 if x.dtype.kind in "iub" else None)

    def backward(self, g):
        (x,) = self.saved_tensors
        d = self.dim
        if x._data.ndim == 0:
            return g
        if not (x._data == 0).any():
            return _revcumsum(g * self.output(), d) / x
        # Zeros: d out_j / d x_k = prod_{i <= j, i != k} x_i, formed with x_k set to 1
        # (n scans of length n; only taken when the input holds a zero).
        from ._shape import movedim, stack
        from ._unary import where
        n = x._data.shape[d]
        xm, gm = movedim(x, d, -1), movedim(g, d, -1)
        eye = np.eye(n, dtype=bool)
        later = np.triu(np.ones((n, n), dtype=bool))  # later[k, j]: j >= k
        cols = []
        for k in range(n):
            c = cumprod(where(eye[k], 1.0, xm), -1)
            cols.append((gm * c * const(later[k].astype(g._data.dtype))).sum(-1))
        return movedim(stack(cols, -1), -1, d)


def cumprod(x: Tensor, dim=None, dtype=None) -> Tensor:
    """Running product along ``dim``."""
    return apply(CumprodBackward0, (_cast(x, dtype),), _dim(x, dim))


def _cum_extreme(x: Tensor, dim, is_max: bool):
    from ._index import gather
    from ._reduce import values_indices
    d = _dim(x, dim)
    a = x._data
    if a.ndim == 0:
        return values_indices(x.clone(), _make(np.zeros((), np.int64)))
    if a.size == 0:
        return values_indices(x.clone(), _make(np.zeros(a.shape, np.int64)))
    run = (np.maximum if is_max else np.minimum).accumulate(a, axis=d)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = np.arange(a.shape[d]).reshape(shape)
    # Ties take the latest index and a NaN stays the running extreme (PyTorch's rule).
    hit = (a == run) | (np.isnan(a) if a.dtype.kind == "f" else False)
    idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=d).astype(np.int64)
    return values_indices(gather(x, d, idx), _make(idx))


def cummax(x: Tensor, dim):
    """Running maximum and the index where it was reached (latest on ties)."""
    return _cum_extreme(x, dim, True)


def cummin(x: Tensor, dim):
    """Running minimum and the index where it was reached (latest on ties)."""
    return _cum_extreme(x, dim, False)


class LogcumsumexpBackward0(Node):
    save_inputs = (0,)
    saves_output = True

    @quiet
    def forward(self, x, dim):
        self.dim = dim
        if x.ndim == 0:
            return x.copy()
        return np.logaddexp.accumulate(x, axis=dim)

    def backward(self, g):
        from ._unary import exp
        (x,) = self.saved_tensors
        d = self.dim
        if x._data.ndim == 0:
            return g
        # grad_k = sum_{j >= k} g_j exp(x_k - out_j), shifted by the slice maximum.
        m = np.max(np.where(np.isfinite(x._data), x._data, -np.inf), axis=d, keepdims=True)
        m = const(np.where(np.isfinite(m), m, 0).astype(x._data.dtype))
        return exp(x - m) * _revcumsum(g * exp(m - self.output()), d)


def logcumsumexp(x: Tensor, dim) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably."""
    if x._data.dtype.kind != "f":
        x = x.to(_dtype.get_default_dtype())
    return apply(LogcumsumexpBackward0, (x,), _dim(x, dim))


NAMES = ("cumsum", "cumprod", "cummax", "cummin", "logcumsumexp")
for _name in NAMES:
    globals()[_name] = np_aliases(globals()[_name])
