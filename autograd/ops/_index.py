"""Indexing: getitem/setitem, take along an axis, gather/scatter, index_select."""
from __future__ import annotations

import numpy as np

from .._apply import apply, apply_view
from .._node import Node
from .._tensor import Tensor
from ._util import wrap_dim

_make = Tensor._make


class _SplitKey:
    """An index mixing ints with tensor indices, applied in two steps as PyTorch does:
    the ints select first (``first``, basic), the rest indexes that view (``second``).

    numpy instead broadcasts the ints with the tensor indices, which moves the indexed
    dims to the front when a slice separates them (``x[0, :, idx]``)."""
    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first, self.second = first, second


def _get(arr, key):
    if type(key) is _SplitKey:
        return arr[key.first][key.second]
    return arr[key]


def _set(arr, key, value) -> None:
    if type(key) is _SplitKey:
        arr[key.first][key.second] = value  # arr[first] is a view: writes reach arr
    else:
        arr[key] = value


def _add_at(arr, key, value) -> None:
    if type(key) is _SplitKey:
        np.add.at(arr[key.first], key.second, value)
    else:
        np.add.at(arr, key, value)


def _convert_key(key):
    """Tensors, lists, tuples and ranges in an index become numpy arrays; report if it is basic."""
    if type(key) is _SplitKey:
        return key, False
    if not isinstance(key, tuple):
        key = (key,)
    out, basic, has_int = [], True, False
    for k in key:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, (list, tuple, range)):
            k = np.asarray(k) if len(k) else np.zeros(0, dtype=np.int64)
        if isinstance(k, np.ndarray):
            if k.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
                has_int = True
            else:
                basic = False
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            has_int = True
        elif not (k is None or k is Ellipsis or isinstance(k, slice)):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                             f"Variables are valid indices (got {type(k).__name__})")
        out.append(k)
    if has_int and not basic:
        first, second = [], []
        for k in out:
            if isinstance(k, (int, np.integer)):
                first.append(k)
                continue
            second.append(k)
            if k is Ellipsis:
                first.append(k)
            elif isinstance(k, np.ndarray) and k.dtype == bool:
                first.extend([slice(None)] * k.ndim)
            elif k is not None:
                first.append(slice(None))
        return _SplitKey(tuple(first), tuple(second)), False
    return tuple(out), basic


def _unique_targets(key) -> bool:
    """True when an advanced index cannot hit the same element twice."""
    if type(key) is _SplitKey:
        key = key.second
    arrays = [k for k in key if isinstance(k, np.ndarray)]
    if len(arrays) == 1 and arrays[0].dtype == bool:
        return True
    if len(arrays) == 1 and arrays[0].ndim == 1:
        a = arrays[0]
        return len(np.unique(a)) == len(a)
    return False


class IndexBackward0(Node):
    def forward(self, x, key, basic):
        self.key, self.basic, self.in_shape = key, basic, x.shape
        try:
            if basic and Ellipsis not in key:
                return x[key + (Ellipsis,)]  # x[0] of a 1-d x: a 0-d view, not a numpy scalar
            return _get(x, key)
        except IndexError as exc:
            raise IndexError(f"{exc} (indexing a tensor of shape {tuple(x.shape)})") from None

    def backward(self, g):
        return apply(IndexAddZerosBackward, (g,), self.key, self.basic, self.in_shape)


class IndexAddZerosBackward(Node):
    """Scatter ``g`` into zeros of ``shape`` at ``key`` (the gradient of indexing)."""

    def forward(self, g, key, basic, shape):
        self.key, self.basic = key, basic
        z = np.zeros(shape, dtype=g.dtype)
        if basic or _unique_targets(key):
            _set(z, key, g)
        else:
            _add_at(z, key, g)
        return z

    def backward(self, gg):
        return apply(IndexBackward0, (gg,), self.key, self.basic)


def getitem(x: Tensor, key) -> Tensor:
    key, basic = _convert_key(key)
    if basic:
        return apply_view(IndexBackward0, x, key, basic)
    return apply(IndexBackward0, (x,), key, basic)


class IndexPutBackward0(Node):
    """``out = x.copy(); out[key] = v`` (differentiable setitem on a non-leaf)."""

    def forward(self, x, v, key):
        self.key, self.sv = key, v.shape
        out = x.copy()
        _set(out, key, v)
        return out

    def backward(self, g):
        from ._arith import sum_to
        gx = apply(IndexPutBackward0, (g, _make(np.zeros((), dtype=g._data.dtype))), self.key) \
            if self.next_functions[0][0] is not None else None
        gv = sum_to(g[self.key], self.sv) if self.next_functions[1][0] is not None else None
        return gx, gv


def setitem(x: Tensor, key, value) -> None:
    """``x[key] = value`` in place; recorded in the graph when grad is enabled."""
    from .._grad_mode import is_grad_enabled
    from ._util import as_tensor_like
    key, _ = _convert_key(key)
    v = as_tensor_like(value, x)
    if is_grad_enabled() and (x._requires_grad or v._requires_grad):
        _check_inplace(x)
        result = apply(IndexPutBackward0, (x, v), key)
        _set(x._data, key, v._data)  # keep memory shared with views of x
        _rebase(x, result)
    else:
        try:
            _set(x._data, key, v._data)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
                               f"broadcast to indexing result of shape "
                               f"{list(_get(x._data, key).shape)}") from None
        x._version[0] += 1


def _check_inplace(x: Tensor) -> None:
    from .._grad_mode import is_grad_enabled
    if not is_grad_enabled():
        return
    if x.grad_fn is None and x._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = x._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def _rebase(x: Tensor, result: Tensor) -> None:
    """Make ``x`` (modified in place) the output of ``result``'s node."""
    x.grad_fn = result.grad_fn
    x._output_nr = result._output_nr
    x._requires_grad = result._requires_grad
    x._version[0] += 1
    node = result.grad_fn
    if node is not None and node.saves_output:
        node._out = x._data
        node._out_meta = ((x._version, x._version[0]),)
    base, view_fn = x._base, x.__dict__.get("_view_fn")
    if base is not None and view_fn is not None:
        x._view_version = x._version[0]  # x's own grad_fn is current
    if base is not None and view_fn is not None and np.may_share_memory(x._data, base._data):
        # x is a view: its base changed too, so record that in the base's graph (CopySlices).
        # The data is already written; the node's forward returns the base array unchanged.
        _rebase_base(base, apply(CopySlices, (base, x), view_fn, True))


def _rebase_base(base: Tensor, result: Tensor) -> None:
    base.grad_fn, base._output_nr = result.grad_fn, result._output_nr
    base._requires_grad = result._requires_grad


class CopySlices(Node):
    """``out = base`` with ``view_fn(out)`` replaced by ``value`` (an in-place op on a view)."""

    def forward(self, base, value, view_fn, inplace):
        self.view_fn, self.vshape = view_fn, value.shape
        if inplace:
            return base
        out = base.copy()
        view = view_fn(_make(out))._data
        if not np.may_share_memory(view, out):
            raise RuntimeError("in-place operation on this view of a non-leaf is not supported")
        view[...] = value
        return out

    def backward(self, g):
        from ._arith import sum_to
        nf = self.next_functions
        gb = apply(CopySlices, (g, _make(np.zeros((), dtype=g._data.dtype))), self.view_fn, False) \
            if nf[0][0] is not None else None
        gv = sum_to(self.view_fn(g), self.vshape) if nf[1][0] is not None else None
        return gb, gv


class TakeAxisBackward0(Node):
    def forward(self, x, axis, idx):
        self.axis, self.idx, self.n = axis, idx, x.shape[axis]
        return np.take(x, idx, axis=axis)

    def backward(self, g):
        return apply(IndexAddAxisBackward0, (g,), self.axis, self.idx, self.n)


class IndexAddAxisBackward0(Node):
    """Sum slices of ``g`` into ``n`` positions along ``axis`` (adjoint of take)."""

    def forward(self, g, axis, idx, n):
        self.axis, self.idx = axis, idx
        shape = list(g.shape)
        shape[axis] = n
        out = np.zeros(shape, dtype=g.dtype)
        if len(idx) == 0:
            return out
        gm = np.moveaxis(g, axis, 0)
        om = np.moveaxis(out, axis, 0)
        # Runs of consecutive indices become one slice add each (pad/roll are runs).
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(idx)]])
        for s, e in zip(starts.tolist(), ends.tolist()):
            i0 = int(idx[s])
            om[i0:i0 + (e - s)] += gm[s:e]
        return out

    def backward(self, gg):
        return apply(TakeAxisBackward0, (gg,), self.axis, self.idx)


def take_axis(x: Tensor, axis: int, idx) -> Tensor:
    return apply(TakeAxisBackward0, (x,), axis, np.asarray(idx, dtype=np.int64))


def index_select(x: Tensor, dim: int, index) -> Tensor:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if idx.dtype.kind not in "iu":
        raise IndexError(f"index_select(): Expected dtype int32/int64 for index but got: {idx.dtype}")
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d] if x._data.ndim else 1
    if idx.size and ((idx < -n) | (idx >= n)).any():
        raise IndexError("index out of range in self")
    if x._data.ndim == 0:
        return x.reshape(idx.shape) if idx.size == 1 else x.reshape(1).expand(idx.size)
    return take_axis(x, d, np.where(idx < 0, idx + n, idx).reshape(-1))


class GatherBackward0(Node):
    def forward(self, x, dim, index):
        self.dim, self.index, self.in_shape = dim, index, x.shape
        if x.ndim == 0:
            return x.copy()
        if index.size == 0:
            return np.zeros(index.shape, dtype=x.dtype)
        if all(i == s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != dim):
            return np.take_along_axis(x, index, axis=dim)
        return x[full_index(index, dim)]  # index may be smaller than x outside dim

    def backward(self, g):
        return apply(ScatterAddZerosBackward, (g,), self.dim, self.index, self.in_shape)


class ScatterAddZerosBackward(Node):
    def forward(self, g, dim, index, shape):
        self.dim, self.index = dim, index
        z = np.zeros(shape, dtype=g.dtype)
        if z.ndim == 0:
            return g.copy()
        if index.size and index.shape[dim] == 1:  # one target per row: no collisions
            z[full_index(index, dim)] = g
        elif index.size:
            np.add.at(z, full_index(index, dim), g)
        return z

    def backward(self, gg):
        return apply(GatherBackward0, (gg,), self.dim, self.index)


def gather(x: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = x[index[i][j]][j]`` (for dim 0): values picked along ``dim``."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    dim = wrap_dim(dim, x._data.ndim)
    idx = check_index("gather", x._data.shape, dim, idx)
    return apply(GatherBackward0, (x,), dim, idx)


from ._scatter import check_index, full_index, scatter_add  # noqa: E402,F401


def masked_fill(x: Tensor, mask, value) -> Tensor:
    from ._unary import where
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}")
    return where(m, value, x)


def masked_select(x: Tensor, mask) -> Tensor:
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    return getitem(x, np.broadcast_to(m, x._data.shape))
