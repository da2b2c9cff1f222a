"""scatter / scatter_reduce and the index checks they share with gather (PyTorch rules:
``index`` has the input's number of dims and is no larger than it outside ``dim``)."""
from __future__ import annotations

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import as_tensor_like, const, wrap_dim

_make = Tensor._make
_UFUNC = {"sum": np.add, "add": np.add, "prod": np.multiply, "multiply": np.multiply,
          "mean": np.add, "amax": np.maximum, "amin": np.minimum}


def check_index(name: str, x_shape, dim: int, index: np.ndarray, src_shape=None) -> np.ndarray:
    """Validate a gather/scatter index as PyTorch does; return it as int64."""
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    nd = len(x_shape)
    if index.ndim != max(nd, 1) and not (nd == 0 and index.ndim == 0):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if src_shape is None else 'self'} tensor")
    if nd and index.size:
        for d in range(nd):
            if d != dim and index.shape[d] > x_shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than self {list(x_shape)} "
                                   f"apart from dimension {dim}")
            if src_shape is not None and index.shape[d] > src_shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than src {list(src_shape)}")
        n = x_shape[dim]
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise RuntimeError(f"index {lo if lo < 0 else hi} is out of bounds for dimension {dim} "
                               f"with size {n}")
    return index.astype(np.int64, copy=False)


def full_index(index: np.ndarray, dim: int) -> tuple:
    """Advanced-index tuple addressing ``out[..., index[i], ...]`` at every index position."""
    idx = list(np.indices(index.shape, sparse=True))
    if idx:
        idx[dim] = index
    return tuple(idx)


def _block(arr: np.ndarray, shape) -> np.ndarray:
    """The leading ``shape`` block of ``arr`` (src larger than index: the rest is unused)."""
    return arr[tuple(slice(0, s) for s in shape)] if arr.shape != tuple(shape) else arr


class ScatterBackward0(Node):
    """``out = x; out[index] = src`` along ``dim`` (the last write wins on duplicates)."""

    def forward(self, x, src, dim, index):
        self.dim, self.index, self.src_shape = dim, index, src.shape
        out = x.copy()
        if index.size:
            out[full_index(index, dim)] = _block(np.broadcast_to(src, src.shape), index.shape)
        return out

    def backward(self, g):
        nf = self.next_functions
        gx = gs = None
        if nf[0][0] is not None:
            mask = np.zeros(g._data.shape, dtype=bool)
            if self.index.size:
                mask[full_index(self.index, self.dim)] = True
            gx = g * const(~mask)
        if nf[1][0] is not None:
            gs = _pad_to(_gather(g, self.dim, self.index), self.src_shape)
        return gx, gs


def _gather(g: Tensor, dim: int, index: np.ndarray) -> Tensor:
    from ._index import GatherBackward0
    return apply(GatherBackward0, (g,), dim, index)


def _pad_to(t: Tensor, shape) -> Tensor:
    if tuple(t._data.shape) == tuple(shape):
        return t
    from ._shape import pad
    widths = []
    for have, want in reversed(list(zip(t._data.shape, shape))):
        widths += [0, want - have]
    return pad(t, widths)


def scatter(x: Tensor, dim: int, index, src=None, value=None, *, reduce=None) -> Tensor:
    """Out-of-place ``x.scatter_(dim, index, src)``: write ``src`` (or ``value``) at ``index``.

    ``reduce='add'|'multiply'`` accumulates instead of overwriting.
    """
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
    if src is None:
        src = value
    dim = wrap_dim(dim, x._data.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    scalar_src = not isinstance(src, Tensor)
    src_t = as_tensor_like(src, x) if not scalar_src else _make(np.full(idx.shape, src, dtype=x.dtype))
    idx = check_index("scatter", x._data.shape, dim, idx, None if scalar_src else src_t._data.shape)
    if src_t._data.dtype != x._data.dtype:
        if src_t._requires_grad:
            raise RuntimeError(f"scatter(): Expected self.dtype to be equal to src.dtype "
                               f"({x.dtype} vs {src_t.dtype})")
        src_t = _make(src_t._data.astype(x._data.dtype))
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply (got {reduce!r})")
        return scatter_reduce(x, dim, _make(idx), src_t, "sum" if reduce == "add" else "prod")
    return apply(ScatterBackward0, (x, src_t), dim, idx)


class ScatterReduceBackward0(Node):
    save_inputs = (0, 1)
    saves_output = True

    def forward(self, x, src, dim, index, reduce, include_self):
        self.dim, self.index, self.reduce, self.include_self = dim, index, reduce, include_self
        self.src_shape = src.shape
        key = full_index(index, dim) if index.size else None
        s = _block(src, index.shape)
        hit = np.zeros(x.shape, dtype=bool)
        if key is not None:
            hit[key] = True
        self.hit = hit
        out = x.copy()
        ufunc = _UFUNC[reduce]
        if not include_self and key is not None:
            # start from the first src value at each hit position (identity of the ufunc)
            ident = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if ident is None:
                lim = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
                ident = -np.inf if (reduce == "amax" and x.dtype.kind == "f") else \
                    (np.inf if x.dtype.kind == "f" else (lim.min if reduce == "amax" else lim.max))
            out[hit] = ident
        if key is not None:
            ufunc.at(out, key, s)
        if reduce == "mean":
            count = np.zeros(x.shape, dtype=np.int64)
            if key is not None:
                np.add.at(count, key, 1)
            count += 1 if include_self else 0
            count = np.maximum(count, 1)
            self.count = count
            out = out / count if out.dtype.kind == "f" else np.floor_divide(out, count)
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        from ._unary import where
        x, src = self.saved_tensors
        nf = self.next_functions
        dim, index, reduce = self.dim, self.index, self.reduce
        keep_x = const(~self.hit) if not self.include_self else None
        gx = gs = None
        if reduce in ("sum", "mean"):
            gg = g / const(self.count.astype(g._data.dtype)) if reduce == "mean" else g
            if nf[0][0] is not None:
                gx = gg if keep_x is None else gg * keep_x
            if nf[1][0] is not None:
                gs = _gather(gg, dim, index)
        elif reduce == "prod":
            out = self.output()
            if nf[0][0] is not None:
                safe = where(x._data == 0, 1.0, x)
                gx = g * out / safe if keep_x is None else g * keep_x
                if keep_x is None:
                    gx = where(x._data == 0, 0.0, gx)
            if nf[1][0] is not None:
                s_sub = _block_t(src, index.shape)
                safe = where(s_sub._data == 0, 1.0, s_sub)
                gs = where(s_sub._data == 0, 0.0, _gather(g * out, dim, index) / safe)
        else:  # amax / amin: shared evenly between the values equal to the result
            out = self.output()
            s_sub = _block_t(src, index.shape)
            out_at = _gather(out, dim, index)
            src_hit = (s_sub._data == out_at._data)
            n = np.zeros(x._data.shape, dtype=g._data.dtype)
            if index.size:
                np.add.at(n, full_index(index, dim), src_hit.astype(g._data.dtype))
            x_hit = (x._data == out._data) & (self.include_self | ~self.hit)
            n = n + x_hit
            gn = g / const(np.maximum(n, 1))
            if nf[0][0] is not None:
                gx = gn * const(x_hit.astype(g._data.dtype))
            if nf[1][0] is not None:
                gs = _gather(gn, dim, index) * const(src_hit.astype(g._data.dtype))
        if gs is not None:
            gs = _pad_to(gs, self.src_shape)
        return gx, gs


def _block_t(t: Tensor, shape) -> Tensor:
    if tuple(t._data.shape) == tuple(shape):
        return t
    return t[tuple(slice(0, s) for s in shape)]


def scatter_reduce(x: Tensor, dim: int, index, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into ``x`` at ``index`` along ``dim`` with ``reduce`` in
    ``'sum' | 'prod' | 'mean' | 'amax' | 'amin'`` (``include_self``: x takes part)."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    dim = wrap_dim(dim, x._data.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    src = as_tensor_like(src, x)
    idx = check_index("scatter_reduce", x._data.shape, dim, idx, src._data.shape)
    if src._data.dtype != x._data.dtype:
        raise RuntimeError(f"scatter(): Expected self.dtype to be equal to src.dtype "
                           f"({x.dtype} vs {src.dtype})")
    return apply(ScatterReduceBackward0, (x, src), dim, idx, reduce, include_self)


def scatter_add(x: Tensor, dim: int, index, src: Tensor) -> Tensor:
    return scatter_reduce(x, dim, index, src, "sum")


def index_add(x: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """``x`` with ``alpha * source`` slices added at positions ``index`` along ``dim``."""
    from ._index import IndexAddAxisBackward0
    dim = wrap_dim(dim, x._data.ndim)
    idx = (index._data if isinstance(index, Tensor) else np.asarray(index)).reshape(-1)
    if alpha != 1:
        source = source * alpha
    order = np.argsort(idx, kind="stable")  # IndexAddAxisBackward0 wants runs; sort first
    from ._index import take_axis
    src_sorted = take_axis(source, dim, order) if source._data.ndim else source
    added = apply(IndexAddAxisBackward0, (src_sorted,), dim, idx[order], x._data.shape[dim])
    return x + added


def index_fill(x: Tensor, dim: int, index, value) -> Tensor:
    from ._unary import where
    dim = wrap_dim(dim, x._data.ndim)
    idx = (index._data if isinstance(index, Tensor) else np.asarray(index)).reshape(-1)
    mask = np.zeros(x._data.shape[dim] if x._data.ndim else 1, dtype=bool)
    mask[idx] = True
    shape = [1] * x._data.ndim
    if shape:
        shape[dim] = -1
    return where(mask.reshape(shape), as_tensor_like(value, x), x)


def index_copy(x: Tensor, dim: int, index, source: Tensor) -> Tensor:
    dim = wrap_dim(dim, x._data.ndim)
    idx = (index._data if isinstance(index, Tensor) else np.asarray(index)).reshape(-1)
    shape = [1] * x._data.ndim
    shape[dim] = -1
    full = np.broadcast_to(idx.reshape(shape), source._data.shape)
    return scatter(x, dim, _make(np.ascontiguousarray(full)), source)


def take_along_dim(x: Tensor, indices, dim=None) -> Tensor:
    from ._index import gather
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    d = wrap_dim(dim, x._data.ndim)
    bshape = list(np.broadcast_shapes(
        tuple(s for i, s in enumerate(x._data.shape) if i != d) or (),
        tuple(s for i, s in enumerate(idx.shape) if i != d) or ()))
    xs, ish = list(bshape), list(bshape)
    xs.insert(d, x._data.shape[d])
    ish.insert(d, idx.shape[d])
    return gather(x.expand(*xs), d, np.ascontiguousarray(np.broadcast_to(idx, ish)))


def take(x: Tensor, index) -> Tensor:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    n = x._data.size
    if idx.size and ((idx < -n) | (idx >= n)).any():
        raise IndexError(f"out of range: tried to access index {int(idx.max())} on a tensor of {n} elements.")
    return x.reshape(-1)[_make(np.where(idx < 0, idx + n, idx))]
