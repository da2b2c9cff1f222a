"""Composite ops built from differentiable primitives (tensordot, kron, cross, cdist,
addcmul...), and non-differentiable utilities (unique, searchsorted, bincount, histc...)."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._util import as_tensor_like, wrap_dim

_make = Tensor._make


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or explicit dim lists)."""
    from ._linalg import einsum
    if isinstance(dims, (int, np.integer)):
        da = list(range(a._data.ndim - int(dims), a._data.ndim))
        db = list(range(int(dims)))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [wrap_dim(d, a._data.ndim) for d in da]
    db = [wrap_dim(d, b._data.ndim) for d in db]
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    la = [next(letters) for _ in range(a._data.ndim)]
    lb = [next(letters) for _ in range(b._data.ndim)]
    for i, j in zip(da, db):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in da] + [c for j, c in enumerate(lb) if j not in db]
    return einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


def inner(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim == 0 or b._data.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


def kron(a: Tensor, b: Tensor) -> Tensor:
    nd = max(a._data.ndim, b._data.ndim)
    a = a.reshape((1,) * (nd - a._data.ndim) + a._data.shape)
    b = b.reshape((1,) * (nd - b._data.ndim) + b._data.shape)
    inter_a, inter_b = [], []
    for sa, sb in zip(a._data.shape, b._data.shape):
        inter_a += [sa, 1]
        inter_b += [1, sb]
    out = a.reshape(inter_a) * b.reshape(inter_b)
    return out.reshape([sa * sb for sa, sb in zip(a._data.shape, b._data.shape)])


def cross(a: Tensor, b: Tensor, dim=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first dim of size 3 by default)."""
    if dim is None:
        shape = np.broadcast_shapes(a._data.shape, b._data.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    nd = max(a._data.ndim, b._data.ndim)
    d = wrap_dim(dim, nd)
    if a._data.shape[d - nd + a._data.ndim] != 3 or b._data.shape[d - nd + b._data.ndim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a._data.shape[d - nd + a._data.ndim]} and {b._data.shape[d - nd + b._data.ndim]}")

    def comp(t, i):
        return t.narrow(d - nd + t._data.ndim, i, 1)
    from ._shape import cat
    a0, a1, a2 = (comp(a, i) for i in range(3))
    b0, b1, b2 = (comp(b, i) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """Pairwise p-norm distances between the rows of ``x1`` (.., P, M) and ``x2`` (.., R, M)."""
    from ._reduce import norm
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return norm(diff, p, -1)


def addcmul(x: Tensor, t1, t2, *, value=1) -> Tensor:
    return x + (t1 * t2) * value if value != 1 else x + t1 * t2


def addcdiv(x: Tensor, t1, t2, *, value=1) -> Tensor:
    return x + (t1 / t2) * value if value != 1 else x + t1 / t2


def _scaled(out, alpha):
    return out * alpha if alpha != 1 else out


def baddbmm(x: Tensor, b1: Tensor, b2: Tensor, *, beta=1, alpha=1) -> Tensor:
    from ._linalg import matmul
    base = x * beta if beta != 1 else x
    return base + _scaled(matmul(b1, b2), alpha)


def addbmm(x: Tensor, b1: Tensor, b2: Tensor, *, beta=1, alpha=1) -> Tensor:
    from ._linalg import matmul
    base = x * beta if beta != 1 else x
    return base + _scaled(matmul(b1, b2).sum(0), alpha)


def addmv(x: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    from ._linalg import matmul
    base = x * beta if beta != 1 else x
    return base + _scaled(matmul(mat, vec), alpha)


def addr(x: Tensor, v1: Tensor, v2: Tensor, *, beta=1, alpha=1) -> Tensor:
    base = x * beta if beta != 1 else x
    return base + _scaled(v1.unsqueeze(1) * v2.unsqueeze(0), alpha)


def diff(x: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    from ._shape import cat
    d = wrap_dim(dim, x._data.ndim)
    if prepend is not None or append is not None:
        parts = [as_tensor_like(p, x) for p in (prepend,) if p is not None] + [x] + \
            [as_tensor_like(p, x) for p in (append,) if p is not None]
        x = cat(parts, d)
    for _ in range(n):
        m = x._data.shape[d]
        x = x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1) if x._data.dtype != np.bool_ else \
            _make(x._data.take(range(1, m), d) != x._data.take(range(m - 1), d))
    return x


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    d = wrap_dim(dim, y._data.ndim)
    m = y._data.shape[d]
    avg = (y.narrow(d, 1, m - 1) + y.narrow(d, 0, m - 1)) * 0.5
    if x is None:
        return avg.sum(d) * (1.0 if dx is None else dx)
    return (avg * diff(x, dim=-1 if x._data.ndim == 1 else d)).sum(d)


trapz = trapezoid


def block_diag(*tensors) -> Tensor:
    from ._shape import pad, cat
    mats = [t.reshape(1, -1) if t._data.ndim == 1 else (t.reshape(1, 1) if t._data.ndim == 0 else t)
            for t in tensors]
    cols = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    dt = np.result_type(*[m._data.dtype for m in mats])
    for m in mats:
        c = m._data.shape[1]
        m = m if m._data.dtype == dt else m.to(dt)
        rows.append(pad(m, (left, cols - left - c)))
        left += c
    return cat(rows, 0)


def atleast_1d(*ts):
    out = [t.reshape(1) if t._data.ndim == 0 else t for t in (ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*ts):
    seq = ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts
    out = [t.reshape((1,) * (2 - t._data.ndim) + t._data.shape) if t._data.ndim < 2 else t for t in seq]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*ts):
    seq = ts[0] if len(ts) == 1 and isinstance(ts[0], (list, tuple)) else ts
    out = []
    for t in seq:
        nd = t._data.ndim
        out.append(t.reshape(1, 1, 1) if nd == 0 else t.reshape(1, -1, 1) if nd == 1 else
                   t.unsqueeze(-1) if nd == 2 else t)
    return out[0] if len(out) == 1 else tuple(out)


def dstack(tensors) -> Tensor:
    from ._shape import cat
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    from ._shape import cat
    return cat([t.reshape(-1, 1) if t._data.ndim <= 1 else t for t in tensors], 1)


def row_stack(tensors) -> Tensor:
    from ._shape import vstack
    return vstack(tensors)


def _tri_indices(row, col, offset, upper):
    r, c = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return _make(np.stack([r, c]).astype(np.int64))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _tri_indices(row, col, offset, True)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _tri_indices(row, col, offset, False)


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    a = x._data
    if dim is None:
        vals, inv, cnt = np.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = wrap_dim(dim, a.ndim)
        vals, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [_make(vals)]
    if return_inverse:
        out.append(_make(inv.astype(np.int64)))
    if return_counts:
        out.append(_make(cnt.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x: Tensor, return_inverse: bool = False, return_counts: bool = False, dim=None):
    a = x._data.reshape(-1)
    if a.size == 0:
        keep = np.zeros(0, bool)
    else:
        keep = np.concatenate([[True], a[1:] != a[:-1]])
    out = [_make(a[keep])]
    if return_inverse:
        out.append(_make((np.cumsum(keep) - 1).reshape(x._data.shape).astype(np.int64)))
    if return_counts:
        starts = np.flatnonzero(keep)
        out.append(_make(np.diff(np.append(starts, a.size)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False, right: bool = False,
                 side=None, sorter=None) -> Tensor:
    seq = sorted_sequence._data
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    side = side or ("right" if right else "left")
    if seq.ndim == 1:
        out = np.searchsorted(seq, v, side=side)
    else:
        out = np.stack([np.searchsorted(s, vv, side=side)
                        for s, vv in zip(seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1]))])
        out = out.reshape(v.shape)
    return _make(out.astype(np.int32 if out_int32 else np.int64))


def bucketize(x, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    return searchsorted(boundaries, x, out_int32=out_int32, right=right)


def bincount(x: Tensor, weights=None, minlength: int = 0) -> Tensor:
    a = x._data
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = None if weights is None else (weights._data if isinstance(weights, Tensor) else np.asarray(weights))
    out = np.bincount(a, w, minlength)
    if w is None:
        return _make(out.astype(np.int64))
    return _make(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


def histc(x: Tensor, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002
    a = x._data
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    h, _ = np.histogram(a, bins=bins, range=(lo, hi))
    dt = a.dtype if a.dtype.kind == "f" else _dtype.get_default_dtype()
    return _make(h.astype(dt))


def msort(x: Tensor) -> Tensor:
    from ._reduce import sort
    return sort(x, 0).values


def aminmax(x: Tensor, *, dim=None, keepdim: bool = False):
    from collections import namedtuple
    from ._reduce import amax, amin
    res = namedtuple("aminmax", ["min", "max"])
    return res(amin(x, dim, keepdim), amax(x, dim, keepdim))


def cartesian_prod(*tensors) -> Tensor:
    from ._diag import meshgrid
    from ._shape import stack
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


NAMES = ("tensordot", "inner", "kron", "cross", "cdist", "addcmul", "addcdiv", "baddbmm",
         "addbmm", "addmv", "addr", "diff", "trapezoid", "trapz", "block_diag", "atleast_1d",
         "atleast_2d", "atleast_3d", "dstack", "column_stack", "row_stack", "triu_indices",
         "tril_indices", "unique", "unique_consecutive", "searchsorted", "bucketize", "bincount",
         "histc", "msort", "aminmax", "cartesian_prod")
METHODS = ("inner", "kron", "cross", "addcmul", "addcdiv", "baddbmm", "addbmm", "addmv", "addr",
           "diff", "unique", "unique_consecutive", "bincount", "histc", "msort", "aminmax")
__all__ = list(NAMES)
