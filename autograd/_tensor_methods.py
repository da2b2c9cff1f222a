"""Attach operators and methods to ``Tensor`` (kept apart from the core state)."""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._apply import apply
from ._grad_mode import is_grad_enabled
from ._node import Node
from ._tensor import Tensor
from .ops import _arith as A
from .ops import _index as I
from .ops import _linalg as L
from .ops import _reduce as R
from .ops import _shape as S
from .ops import _unary as U

_make = Tensor._make


class ToCopyBackward0(Node):
    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return to(g, self.in_dtype) if self.in_dtype.kind in "fc" else None


class CloneBackward0(Node):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def to(x: Tensor, *args, dtype=None, **kw) -> Tensor:
    """Cast to a dtype (``x.to(torch.float64)``, ``x.to(other)``); devices other than cpu are refused."""
    from ._device import parse_to_args  # the device surface lives in _device.py

    dtype, copy = parse_to_args(args, kw, dtype, Tensor)
    if dtype is None or np.dtype(dtype) == x._data.dtype:
        return clone(x) if copy else x
    return apply(ToCopyBackward0, (x,), np.dtype(dtype))


def clone(x: Tensor, memory_format=None) -> Tensor:
    return apply(CloneBackward0, (x,))


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    return x if x._data.flags.c_contiguous else clone(x)


# -- in-place ops -----------------------------------------------------------
_UFUNC_INPLACE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _inplace(x: Tensor, op, *args) -> Tensor:
    """Run ``op(x, *args)`` and store the result in ``x``'s memory."""
    needs_graph = is_grad_enabled() and (
        x._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
    if needs_graph:
        I._check_inplace(x)
        # Run the op on a snapshot of x, so what its node saves is the value before the
        # in-place write (PyTorch's ``original_self``): ``y.mul_(w)`` needs the old y for dw.
        x._grad_edge()  # brings a stale view's grad_fn up to date
        src = _make(x._data.copy(), x._requires_grad, x.grad_fn, x._output_nr)
        result = op(src, *[src if a is x else a for a in args])
        if result._data.shape != x._data.shape:
            raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast "
                               f"shape {list(result.shape)}")
        x._data[...] = result._data
        I._rebase(x, result)
        return x
    from ._grad_mode import no_grad
    with no_grad():
        result = op(x, *args)
    if result._data.shape != x._data.shape:
        raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast "
                           f"shape {list(result.shape)}")
    np.copyto(x._data, result._data, casting="unsafe")
    x._version[0] += 1
    return x


def _arith_inplace(name):
    fn = {"add": A.add, "sub": A.sub, "mul": A.mul, "div": A.div}[name]
    ufunc = _UFUNC_INPLACE[name]

    def op(self: Tensor, other, alpha=1) -> Tensor:
        other_rg = isinstance(other, Tensor) and other._requires_grad
        if not (is_grad_enabled() and (self._requires_grad or other_rg)):
            od = other._data if isinstance(other, Tensor) else other
            if alpha != 1:
                od = od * alpha
            try:
                ufunc(self._data, od, out=self._data, casting="unsafe")
            except ValueError:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                                   f"broadcast shape of {np.shape(od)}") from None
            self._version[0] += 1
            return self
        if alpha != 1:
            return _inplace(self, lambda a, b: fn(a, b, alpha=alpha), other)
        return _inplace(self, fn, other)
    op.__name__ = name + "_"
    return op


def _overwrite(a: Tensor, value) -> Tensor:
    """``value`` broadcast to ``a`` (zero gradient to ``a``; ``a * 0 + v`` would give nan at inf)."""
    v = value.to(a.dtype) if isinstance(value, Tensor) else value
    return U.where(np.ones(a._data.shape, dtype=bool), v, a)


def zero_(x: Tensor) -> Tensor:
    return fill_(x, 0)


def fill_(x: Tensor, value) -> Tensor:
    if is_grad_enabled() and x._requires_grad:
        I._check_inplace(x)
        return _inplace(x, _overwrite, value)
    if not x._data.flags.writeable:
        x._data = np.array(x._data)
    x._data[...] = value._data if isinstance(value, Tensor) else value
    x._version[0] += 1
    return x


def copy_(x: Tensor, src) -> Tensor:
    s = src._data if isinstance(src, Tensor) else np.asarray(src)
    if is_grad_enabled() and (x._requires_grad or (isinstance(src, Tensor) and src._requires_grad)):
        return _inplace(x, _overwrite, src)
    np.copyto(x._data, np.broadcast_to(s, x._data.shape), casting="unsafe")
    x._version[0] += 1
    return x


def _random_inplace(sample):
    def op(x: Tensor, *args, generator=None, **kw) -> Tensor:
        from ._creation import _rng
        if is_grad_enabled() and x._requires_grad and x.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        x._data[...] = sample(_rng(generator), x._data.shape, *args, **kw)
        x._version[0] += 1
        return x
    return op


uniform_ = _random_inplace(lambda r, s, a=0.0, b=1.0: r.uniform(a, b, s))
normal_ = _random_inplace(lambda r, s, mean=0.0, std=1.0: r.normal(mean, std, s))
bernoulli_ = _random_inplace(lambda r, s, p=0.5: r.random(s) < p)
random_ = _random_inplace(lambda r, s, lo=0, hi=2**24: r.integers(lo, hi, s))


def _unary_inplace(fn):
    def op(x: Tensor, *args, **kw) -> Tensor:
        return _inplace(x, lambda a: fn(a, *args, **kw))
    return op


def _item_method(fn):
    return lambda self, *a, **k: fn(self, *a, **k)


def _install() -> None:
    T = Tensor
    T.__add__ = T.add = lambda s, o, alpha=1: A.add(s, o, alpha)
    T.__radd__ = lambda s, o: A.add(s, o)
    T.__sub__ = T.sub = lambda s, o, alpha=1: A.sub(s, o, alpha)
    T.__rsub__ = lambda s, o: A.rsub(s, o)
    T.__mul__ = T.mul = T.multiply = lambda s, o: A.mul(s, o)
    T.__rmul__ = lambda s, o: A.mul(s, o)
    T.__truediv__ = T.div = T.divide = lambda s, o, rounding_mode=None: A.div(s, o, rounding_mode)
    T.__rtruediv__ = lambda s, o: A.rdiv(s, o)
    T.__floordiv__ = lambda s, o: A.div(s, o, "floor")
    T.__pow__ = T.pow = lambda s, o: A.pow(s, o)
    T.__rpow__ = lambda s, o: A.rpow(s, o)
    T.__matmul__ = T.matmul = lambda s, o: L.matmul(s, o)
    T.__rmatmul__ = lambda s, o: L.matmul(_make(np.asarray(o, dtype=s.dtype)), s)
    T.__neg__ = T.neg = T.negative = A.neg
    T.__pos__ = lambda s: s
    T.__abs__ = T.abs = U.abs
    # a tensor never equals a string (PyTorch: ``t == "a"`` is False), numpy would raise instead
    T.__eq__ = lambda s, o: False if isinstance(o, str) else U.eq(s, o)
    T.__ne__ = lambda s, o: True if isinstance(o, str) else U.ne(s, o)
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = U.lt, U.le, U.gt, U.ge
    T.eq, T.ne, T.lt, T.le, T.gt, T.ge = U.eq, U.ne, U.lt, U.le, U.gt, U.ge
    T.__and__ = T.logical_and = U.logical_and
    T.__or__ = T.logical_or = U.logical_or
    T.__xor__ = U.logical_xor
    T.__invert__ = T.logical_not = U.logical_not
    T.__getitem__ = I.getitem
    T.__setitem__ = I.setitem
    for name in ("add", "sub", "mul", "div"):
        setattr(T, name + "_", _arith_inplace(name))
    T.__iadd__, T.__isub__ = T.add_, T.sub_
    T.__imul__, T.__itruediv__ = T.mul_, T.div_
    T.zero_, T.fill_, T.copy_ = zero_, fill_, copy_
    T.uniform_, T.normal_, T.bernoulli_, T.random_ = uniform_, normal_, bernoulli_, random_
    for name in ("exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid",
                 "relu", "erf", "sign", "floor", "ceil", "round", "trunc", "log2", "log10",
                 "exp2", "expm1", "square", "reciprocal", "deg2rad", "rad2deg", "isnan", "isinf",
                 "isfinite", "allclose", "equal", "maximum", "minimum", "abs"):
        setattr(T, name, getattr(U, name))
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh", "relu", "abs", "neg", "sin", "cos",
                 "floor", "ceil", "round", "square", "reciprocal"):
        setattr(T, name + "_", _unary_inplace(getattr(T, name)))
    T.clamp = T.clip = U.clamp
    T.clamp_ = T.clip_ = _unary_inplace(U.clamp)
    T.clamp_min = lambda s, m: U.clamp(s, min=m)
    T.clamp_max = lambda s, m: U.clamp(s, max=m)
    T.pow_ = lambda s, e: _inplace(s, A.pow, e)
    T.where = lambda s, cond, other: U.where(cond, s, other)
    T.masked_fill = I.masked_fill
    T.masked_fill_ = lambda s, m, v: _inplace(s, I.masked_fill, m, v)
    T.masked_select = I.masked_select
    T.gather, T.index_select, T.scatter_add = I.gather, I.index_select, I.scatter_add
    for name in ("sum", "mean", "prod", "var", "std", "amax", "amin", "max", "min", "argmax",
                 "argmin", "logsumexp", "softmax", "log_softmax", "cumsum", "norm", "all", "any",
                 "sort", "argsort", "topk"):
        setattr(T, name, getattr(R, name))
    for name in ("reshape", "view", "permute", "transpose", "squeeze", "unsqueeze", "flatten",
                 "unflatten", "repeat", "tile", "split", "chunk", "unbind", "narrow", "flip",
                 "fliplr", "flipud", "roll", "movedim", "t", "rot90", "tensor_split"):
        setattr(T, name, getattr(S, name))
    T.expand = S.expand_
    T.broadcast_to = S.broadcast_to
    T.expand_as = lambda s, o: S.expand_(s, *o.shape)
    T.view_as = T.reshape_as = lambda s, o: S.reshape(s, o.shape)
    T.swapaxes = T.swapdims = S.transpose
    T.moveaxis = S.movedim
    T.dot, T.mm, T.bmm, T.mv, T.outer = L.dot, L.mm, L.bmm, L.mv, L.outer
    T.T = property(lambda s: S.permute(s, tuple(reversed(range(s._data.ndim)))))
    T.mT = property(lambda s: S.transpose(s, -2, -1))
    T.to, T.clone, T.contiguous = to, clone, contiguous
    T.type = lambda s, dtype=None: str(s.dtype) if dtype is None else to(s, dtype)
    T.type_as = lambda s, o: to(s, o.dtype)
    T.float = lambda s: to(s, _dtype.float32)
    T.double = lambda s: to(s, _dtype.float64)
    T.half = lambda s: to(s, _dtype.float16)
    T.long = lambda s: to(s, _dtype.int64)
    T.int = lambda s: to(s, _dtype.int32)
    T.bool = lambda s: to(s, _dtype.bool)
    T.cpu = lambda s, memory_format=None: s
    T.cuda = lambda s, *a, **k: _cuda_refused("cuda")
    T.xpu = lambda s, *a, **k: _cuda_refused("xpu")
    T.sum_to_size = lambda s, *size: A.sum_to(s, S._shape_arg(size))
    T.new_zeros = lambda s, *size, dtype=None, requires_grad=False: _new(np.zeros, s, size, dtype, requires_grad)
    T.new_ones = lambda s, *size, dtype=None, requires_grad=False: _new(np.ones, s, size, dtype, requires_grad)
    T.new_empty = lambda s, *size, dtype=None, requires_grad=False: _new(np.empty, s, size, dtype, requires_grad)
    T.new_full = lambda s, size, value, dtype=None, requires_grad=False: _make(
        np.full(tuple(size), value, dtype=dtype or s.dtype)).requires_grad_(requires_grad)
    T.new_tensor = lambda s, data, dtype=None, requires_grad=False: _make(
        np.array(data, dtype=dtype or s.dtype)).requires_grad_(requires_grad)
    from .ops import _methods
    _methods.install(T, _inplace, _unary_inplace)


def _cuda_refused(name):
    from ._device import cpu_only_error

    raise cpu_only_error(name)


def _new(fn, s, size, dtype, requires_grad):
    t = _make(fn(S._shape_arg(size), dtype=dtype or s.dtype))
    return t.requires_grad_(requires_grad) if requires_grad else t


_install()
