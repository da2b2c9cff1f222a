"""Reductions: sum/mean/prod/var/std/amax/amin/max/min, softmax family, cumsum, norm."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._apply import apply
from .._grad_mode import is_grad_enabled
from .._node import Node
from .._tensor import Tensor
from ._arith import expand
from ._shape import reshape
from ._util import const, norm_dim, np_aliases, wrap_dim

_make = Tensor._make
values_indices = namedtuple("return_types", ["values", "indices"])


def _keep_shape(in_shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(in_shape))


def _grad_back(g: Tensor, in_shape, dims) -> Tensor:
    """Broadcast a reduced gradient back to the input shape."""
    return expand(reshape(g, _keep_shape(in_shape, dims)), in_shape)


class SumBackward0(Node):
    def forward(self, x, dims, keepdim, dtype):
        self.in_shape, self.dims = x.shape, dims
        if dtype is None and x.dtype.kind in "iub":
            dtype = np.int64
        return np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        return _grad_back(g, self.in_shape, self.dims)


class MeanBackward0(Node):
    def forward(self, x, dims, keepdim):
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                               f"floating point or complex dtype. Got: {x.dtype}")
        self.in_shape, self.dims = x.shape, dims
        self.n = int(np.prod([x.shape[d] for d in dims])) if dims else 1
        return np.mean(x, axis=dims, keepdims=keepdim)

    def backward(self, g):
        return _grad_back(g, self.in_shape, self.dims) / self.n


class ProdBackward0(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, x, dims, keepdim):
        self.in_shape, self.dims = x.shape, dims
        return np.prod(x, axis=dims, keepdims=keepdim)

    def backward(self, g):
        (x,) = self.saved_tensors
        out = _grad_back(self.output(), self.in_shape, self.dims)
        gb = _grad_back(g, self.in_shape, self.dims)
        if not (x._data == 0).any():
            return gb * out / x
        # With zeros, the product of the other elements must be formed explicitly.
        if is_grad_enabled():  # create_graph: keep it differentiable for double backward
            return gb * _prod_others(x, self.dims)
        xd = np.moveaxis(x._data, self.dims, tuple(range(len(self.dims))))
        flat = xd.reshape(-1, *xd.shape[len(self.dims):])
        others = np.empty_like(flat)
        for i in range(flat.shape[0]):
            others[i] = np.prod(np.delete(flat, i, axis=0), axis=0)
        others = np.moveaxis(others.reshape(xd.shape), tuple(range(len(self.dims))), self.dims)
        return gb * const(others)


def _prod_others(x: Tensor, dims) -> Tensor:
    """Product over ``dims`` of all elements but each one, with differentiable ops."""
    from ._shape import permute, stack
    from ._unary import where
    rest = [i for i in range(x._data.ndim) if i not in dims]
    xp = permute(x, tuple(dims) + tuple(rest))
    shape = xp._data.shape
    flat = reshape(xp, (-1,) + shape[len(dims):])
    n = flat._data.shape[0]
    eye = np.eye(n, dtype=bool).reshape((n, n) + (1,) * len(rest))
    parts = [prod(where(eye[i], 1.0, flat), 0) for i in range(n)]
    return permute(reshape(stack(parts, 0), shape), tuple(np.argsort(tuple(dims) + tuple(rest)).tolist()))


class AmaxBackward0(Node):
    """amax/amin; the gradient is shared evenly between tied extrema (as PyTorch)."""
    save_inputs = (0,)
    saves_output = True

    def forward(self, x, dims, keepdim, is_max):
        self.in_shape, self.dims = x.shape, dims
        if x.size == 0 and (not dims or builtins.any(x.shape[d] == 0 for d in dims)):
            name = "max" if is_max else "min"
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                               f"== 0. Specify the reduction dim with the 'dim' argument.")
        return (np.amax if is_max else np.amin)(x, axis=dims, keepdims=keepdim)

    def backward(self, g):
        (x,) = self.saved_tensors
        out = _grad_back(self.output(), self.in_shape, self.dims)
        mask = (x._data == out._data).astype(x._data.dtype)
        count = mask.sum(axis=self.dims, keepdims=True)
        return _grad_back(g, self.in_shape, self.dims) * const(mask / count)


def _dims(x, dim):
    dims = norm_dim(dim, x._data.ndim)  # validates: a 0-d tensor accepts dim 0 and -1 only
    return dims if x._data.ndim else ()




def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    return apply(SumBackward0, (x,), _dims(x, dim), keepdim, dtype)


def mean(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    return apply(MeanBackward0, (x,), _dims(x, dim), keepdim)


def prod(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "iub" and x._data.dtype != np.int64:
        x = _make(x._data.astype(np.int64))  # integer products accumulate in int64 (PyTorch)
    return apply(ProdBackward0, (x,), _dims(x, dim), keepdim)


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return apply(AmaxBackward0, (x,), _dims(x, dim), keepdim, True)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return apply(AmaxBackward0, (x,), _dims(x, dim), keepdim, False)


def _max_min(x, dim, keepdim, is_max, other=None):
    from ._index import gather
    from ._unary import maximum, minimum
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return maximum(x, other) if is_max else minimum(x, other)
    if dim is None:
        return amax(x) if is_max else amin(x)
    d = wrap_dim(dim, x._data.ndim)
    arg = (np.argmax if is_max else np.argmin)(x._data, axis=d, keepdims=True) if x._data.ndim else \
        np.zeros((), dtype=np.int64)
    if x._data.ndim == 0:
        return values_indices(x, _make(arg))
    values = gather(x, d, arg)
    if not keepdim:
        values = reshape(values, values._data.shape[:d] + values._data.shape[d + 1:])
        arg = arg.squeeze(d)
    return values_indices(values, _make(arg.astype(np.int64)))


def max(x: Tensor, dim=None, keepdim: bool = False, other=None):  # noqa: A001
    return _max_min(x, dim, keepdim, True, other)


def min(x: Tensor, dim=None, keepdim: bool = False, other=None):  # noqa: A001
    return _max_min(x, dim, keepdim, False, other)


def _arg_extreme(x: Tensor, dim, keepdim: bool, fn, name: str) -> Tensor:
    a = x._data
    if a.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if a.size == 0 and (dim is None or a.ndim == 0 or a.shape[wrap_dim(dim, a.ndim)] == 0):
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                         if dim is None else f"{name}(): Expected reduction dim {dim} to have "
                         "non-zero size.")
    if dim is None:
        out = np.asarray(fn(a), dtype=np.int64)
        return _make(out.reshape((1,) * a.ndim) if keepdim else out)
    d = wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        return _make(np.zeros((), np.int64))
    return _make(fn(a, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(x, dim, keepdim, np.argmax, "argmax")


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(x, dim, keepdim, np.argmin, "argmin")


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = _dims(x, dim)
    n = int(np.prod([x._data.shape[d] for d in dims])) if dims else 1
    centered = x - mean(x, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim) / builtins.max(n - correction, 0)


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    from ._unary import sqrt
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    from ._unary import exp, log
    dims = _dims(x, dim)
    m = np.amax(x._data, axis=dims, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x._data.dtype)
    out = log(sum(exp(x - const(m)), dims, keepdim=True)) + const(m)
    return out if keepdim else reshape(out, tuple(s for i, s in enumerate(out._data.shape) if i not in dims))


class SoftmaxBackward0(Node):
    saves_output = True

    def forward(self, x, dim):
        self.dim = dim
        e = np.exp(x - np.amax(x, axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    def backward(self, g):
        y = self.output()
        return y * (g - sum(g * y, self.dim, keepdim=True))


class LogSoftmaxBackward0(Node):
    saves_output = True

    def forward(self, x, dim):
        self.dim = dim
        shifted = x - np.amax(x, axis=dim, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(self, g):
        from ._unary import exp
        return g - exp(self.output()) * sum(g, self.dim, keepdim=True)


def _float(x: Tensor, dtype=None) -> Tensor:
    if dtype is not None:
        return x.to(dtype)
    if x._data.dtype.kind != "f":
        return _make(x._data.astype(_dtype.get_default_dtype()))
    return x


def softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    x = _float(x, dtype)
    return apply(SoftmaxBackward0, (x,), wrap_dim(dim, x._data.ndim))


def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    x = _float(x, dtype)
    return apply(LogSoftmaxBackward0, (x,), wrap_dim(dim, x._data.ndim))


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """Vector p-norm (``p`` = 2/'fro', 1, inf, -inf or any number) over ``dim``."""
    from ._unary import abs as _abs
    dims = _dims(x, dim)
    if p in ("fro", 2, 2.0, None):
        return apply(Norm2Backward0, (x,), dims, keepdim)
    if p in (float("inf"), "inf"):
        return amax(_abs(x), dims, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(_abs(x), dims, keepdim)
    if p == 1:
        return sum(_abs(x), dims, keepdim)
    if p == 0:  # the number of non-zero elements (zero gradient)
        return sum(_make((x._data != 0).astype(x._data.dtype)), dims, keepdim)
    return sum(_abs(x) ** p, dims, keepdim) ** (1.0 / p)


class Norm2Backward0(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, x, dims, keepdim):
        self.in_shape, self.dims = x.shape, dims
        return np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim))

    def backward(self, g):
        from ._unary import where
        (x,) = self.saved_tensors
        out = _grad_back(self.output(), self.in_shape, self.dims)
        safe = where(out._data == 0, 1.0, out)  # subgradient 0 at the origin, as PyTorch
        return _grad_back(g, self.in_shape, self.dims) * x / safe


def all(x: Tensor, dim=None, keepdim=False) -> Tensor:  # noqa: A001
    out = np.all(x._data, axis=_dims(x, dim), keepdims=keepdim)
    return _make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)


def any(x: Tensor, dim=None, keepdim=False) -> Tensor:  # noqa: A001
    out = np.any(x._data, axis=_dims(x, dim), keepdims=keepdim)
    return _make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)


from ._sort import argsort, kthvalue, median, sort, topk  # noqa: E402,F401
from ._scan import cumsum  # noqa: E402,F401  (cumsum lives with the other scans)

for _name in ("sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var",
              "std", "var_mean", "std_mean", "logsumexp", "softmax", "log_softmax", "norm", "all",
              "any", "sort", "argsort", "topk", "kthvalue", "median"):
    globals()[_name] = np_aliases(globals()[_name])
