"""Shared helpers for op implementations."""
from __future__ import annotations

import functools

import numpy as np

from .. import _dtype
from .._tensor import Tensor

_make = Tensor._make


def as_tensor_like(x, like: Tensor) -> Tensor:
    """Wrap a Python/numpy scalar or array as a constant tensor matching ``like``'s dtype rules."""
    if isinstance(x, Tensor):
        return x
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return _make(np.asarray(_dtype.scalar_for(x, like._data.dtype)))
    arr = np.asarray(x)
    if arr.dtype == np.float64 and like._data.dtype.kind == "f" and not isinstance(x, np.ndarray):
        arr = arr.astype(like._data.dtype)
    return _make(arr)


def const(arr) -> Tensor:
    """A constant (non-differentiable) tensor around an array."""
    return _make(arr)


def result_type(a: np.ndarray, b: np.ndarray) -> np.dtype | None:
    """PyTorch's promotion for two tensors, or None when numpy already agrees."""
    da, db = a.dtype, b.dtype
    if da == db:
        return None
    ka, kb = da.kind, db.kind
    if ka == "f" and kb != "f":
        return da
    if kb == "f" and ka != "f":
        return db
    # A 0-d tensor does not promote a dimensioned tensor of the same category (PyTorch).
    if (a.ndim == 0) != (b.ndim == 0) and (ka == kb or (ka in "iu" and kb in "iu")):
        return db if a.ndim == 0 else da
    return None


def broadcast_error(a: np.ndarray, b: np.ndarray) -> RuntimeError:
    sa, sb = a.shape, b.shape
    n = max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + sa
    pb = (1,) * (n - len(sb)) + sb
    for d in range(n):
        if pa[d] != pb[d] and pa[d] != 1 and pb[d] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at "
                f"non-singleton dimension {d} (shapes {tuple(sa)} and {tuple(sb)})")
    return RuntimeError(f"shapes {tuple(sa)} and {tuple(sb)} are not broadcastable")


def sum_to_array(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast result back down to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def norm_dim(dim, ndim: int) -> tuple:
    """Normalise ``dim`` (None, int or sequence, negatives allowed) to a sorted tuple."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    out = []
    for d in dim:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(out))


def wrap_dim(dim, ndim: int) -> int:
    """One dim index in ``[-ndim, ndim)`` (0-d tensors accept -1 and 0) made non-negative."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return int(dim) % n


def quiet(forward):
    """Run ``forward`` with numpy's floating-point warnings off.

    As in PyTorch, ``log(0)``, ``x / 0``, ``sqrt(-1)`` or an overflowing ``exp``
    give inf/nan values, not warnings. Only ops that commonly produce them pay
    for the ``errstate`` switch (about a microsecond).
    """
    @functools.wraps(forward)
    def wrapper(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return forward(*args, **kwargs)
    return wrapper


def np_aliases(fn):
    """Accept numpy's ``axis=`` / ``keepdims=`` spellings for ``dim`` / ``keepdim`` (as torch)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)
    return wrapper
