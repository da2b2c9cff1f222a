"""The long tail of PyTorch's tensor surface, built on the existing ops: dtype queries,
comparison aliases, splits, quantiles, scatter-style writes, statistics and thin
``torch.*`` wrappers over ``nn.functional``."""
from __future__ import annotations


import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._util import as_tensor_like, wrap_dim

_make = Tensor._make


# -- dtype and shape queries -------------------------------------------------------
def result_type(a, b) -> np.dtype:
    from ._binary import _operands
    from ._util import result_type as _rt
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return _dtype.infer_dtype(a + b)
    a, b = _operands(a, b)
    return _rt(a._data, b._data) or np.result_type(a._data.dtype, b._data.dtype)


def promote_types(a, b) -> np.dtype:
    a, b = np.dtype(a), np.dtype(b)
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def can_cast(from_, to) -> bool:
    order = "biuf"
    f, t = np.dtype(from_).kind, np.dtype(to).kind
    return order.index(f if f != "u" else "i") <= order.index(t if t != "u" else "i")


def broadcast_shapes(*shapes):
    from .._tensor import Size
    try:
        return Size(np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))
    except ValueError as exc:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape ({exc})") from None


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) for t in tensors)


finfo = np.finfo
iinfo = np.iinfo


def is_complex(x: Tensor) -> bool: return x._data.dtype.kind == "c"
def is_signed(x: Tensor) -> bool: return x._data.dtype.kind in "fic"
def is_same_size(a: Tensor, b: Tensor) -> bool: return a._data.shape == b._data.shape


def is_nonzero(x: Tensor) -> bool:
    if x._data.size != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous" if x._data.size
                           else "Boolean value of Tensor with no values is ambiguous")
    return bool(x._data.reshape(()))


def scalar_tensor(s, dtype=None, **kw) -> Tensor:
    return _make(np.asarray(s, dtype=dtype or _dtype.get_default_dtype()))


def asarray(obj, dtype=None, copy=None, **kw) -> Tensor:
    from .._creation import as_tensor
    return as_tensor(obj, dtype=dtype)


# -- comparisons, predicates --------------------------------------------------------
def _pred(fn):
    return lambda x: _make(fn(x._data))


isneginf = _pred(np.isneginf)
isposinf = _pred(np.isposinf)
isreal = _pred(lambda a: np.ones(a.shape, bool))


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _make(np.isin(e, t, invert=invert))


# -- splits and selection -----------------------------------------------------------
def _split_sections(x: Tensor, indices_or_sections, dim: int):
    from ._shape import split, tensor_split
    if isinstance(indices_or_sections, int):
        n = x._data.shape[dim]
        if n % indices_or_sections:
            raise RuntimeError(f"torch.hsplit attempted to split along dimension {dim}, but the size "
                               f"of the dimension {n} is not divisible by the split_size "
                               f"{indices_or_sections}!")
        return tensor_split(x, indices_or_sections, dim)
    bounds = [0] + list(indices_or_sections) + [x._data.shape[dim]]
    return split(x, [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])], dim)


def hsplit(x: Tensor, sections):
    return _split_sections(x, sections, 1 if x._data.ndim > 1 else 0)


def vsplit(x: Tensor, sections):
    return _split_sections(x, sections, 0)


def dsplit(x: Tensor, sections):
    return _split_sections(x, sections, 2)


def split_with_sizes(x: Tensor, split_sizes, dim: int = 0):
    from ._shape import split
    return split(x, list(split_sizes), dim)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    d = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(x._data.shape)} at dimension {dim}")
    return x[(slice(None),) * d + (index,)]


def ravel(x: Tensor) -> Tensor:
    return x.reshape(-1)


def narrow_copy(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    return x.narrow(dim, start, length).clone()


def adjoint(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


# -- scatter-style writes (out of place; the methods add the in-place forms) --------
def _scatter_into(x: Tensor, view_fn, src) -> Tensor:
    """``x`` with ``view_fn(x)`` replaced by ``src`` (differentiable in both)."""
    out = x.clone()
    key_holder = []

    class _Key:
        def __getitem__(self, key):
            key_holder.append(key)
    view_fn(_Key())
    out[key_holder[0]] = src
    return out


def select_scatter(x: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    d = wrap_dim(dim, x._data.ndim)
    return _scatter_into(x, lambda v: v[(slice(None),) * d + (index,)], src)


def slice_scatter(x: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    d = wrap_dim(dim, x._data.ndim)
    return _scatter_into(x, lambda v: v[(slice(None),) * d + (slice(start, end, step),)], src)


def diagonal_scatter(x: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    from .._apply import apply
    from ._diag import DiagonalScatterBackward0, _diag_dims, _diag_view
    from ._unary import where
    d1, d2 = _diag_dims(x._data.ndim, dim1, dim2)
    mask = np.zeros(x._data.shape, dtype=bool)
    view = _diag_view(mask, offset, d1, d2)
    if view.shape != src._data.shape:
        raise RuntimeError(f"diagonal_scatter: src shape {list(src.shape)} does not match the "
                           f"diagonal shape {list(view.shape)}")
    view[...] = True
    placed = apply(DiagonalScatterBackward0, (src,), int(offset), d1, d2, x._data.shape)
    return where(mask, 0.0, x) + placed


def masked_scatter(x: Tensor, mask, source: Tensor) -> Tensor:
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    m = np.broadcast_to(m, x._data.shape)
    n = int(m.sum())
    if source._data.size < n:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements as "
                           "ones in mask")
    out = x.clone()
    out[_make(np.ascontiguousarray(m))] = source.reshape(-1)[:n]
    return out


def index_put(x: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    key = tuple(indices)
    if not accumulate:
        out = x.clone()
        out[key] = values
        return out
    from ._index import IndexAddZerosBackward, _convert_key
    from .._apply import apply
    k, basic = _convert_key(key)
    v = as_tensor_like(values, x)
    target = x[key]
    v = v.expand(*target.shape) if v._data.shape != target._data.shape else v
    return x + apply(IndexAddZerosBackward, (v,), k, False, x._data.shape)


def put(x: Tensor, index, source, accumulate: bool = False) -> Tensor:
    flat = x.reshape(-1)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    n = flat._data.size
    idx = np.where(idx < 0, idx + n, idx).reshape(-1)
    return index_put(flat, (_make(idx),), source.reshape(-1), accumulate).reshape(x.shape)


def fill_diagonal_(x: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal in place (tall matrices restart every
    ``ncols + 1`` rows when ``wrap``)."""
    a = x._data
    if a.ndim == 2:
        nr, nc = a.shape
        limit = nr * nc if wrap else min(nr, nc) * nc
        rows, cols = np.divmod(np.arange(0, limit, nc + 1), nc)
        key = (_make(rows), _make(cols))
    else:
        if len(set(a.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        idx = _make(np.arange(a.shape[0]))
        key = (idx,) * a.ndim
    x[key] = fill_value
    return x


# -- torch.* functions that live in nn.functional ---------------------------------------
def _functional(name):
    def fn(*args, **kwargs):
        from ..nn import functional as F
        return getattr(F, name)(*args, **kwargs)
    fn.__name__ = name
    return fn


_F_NAMES = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
            "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
            "adaptive_max_pool1d", "layer_norm", "group_norm", "pixel_shuffle", "pixel_unshuffle",
            "cosine_similarity", "pairwise_distance", "prelu", "selu", "celu", "rrelu",
            "hardshrink", "bilinear", "threshold", "kl_div", "poisson_nll_loss",
            "triplet_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
            "cosine_embedding_loss", "alpha_dropout", "feature_alpha_dropout", "rms_norm")
for _n in _F_NAMES:
    globals()[_n] = _functional(_n)


def dropout(x: Tensor, p: float, train: bool) -> Tensor:
    from ..nn import functional as F
    return F.dropout(x, p, train)


def clamp_min(x: Tensor, min) -> Tensor:  # noqa: A002
    from ._unary import clamp
    return clamp(x, min=min)


def clamp_max(x: Tensor, max) -> Tensor:  # noqa: A002
    from ._unary import clamp
    return clamp(x, max=max)


from ._stats import *  # noqa: E402,F401,F403

NAMES = tuple(n for n in dir() if not n.startswith("_") and callable(globals()[n]) and n not in (
    "Tensor", "namedtuple", "as_tensor_like", "wrap_dim", "annotations"))
__all__ = list(NAMES)
