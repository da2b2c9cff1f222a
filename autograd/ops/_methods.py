"""Tensor methods for the ops in _binary, _bitwise, _trig, _scan, _scatter, _diag and _misc
(installed by ``_tensor_methods``; kept here so that file stays small)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from . import _binary as B
from . import _bitwise as BW
from . import _diag as D
from . import _extra as EX
from . import _misc as M
from . import _reduce as R
from . import _scan as SC
from . import _scatter as SR
from . import _shape as S
from . import _special as SP
from . import _trig as TR


def _view(x: Tensor, *shape):
    """``view(*shape)`` or ``view(dtype)`` (reinterpret the bytes)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list, Tensor)) \
            and shape[0] is not None:
        return M.view_dtype(x, shape[0])
    return S.reshape(x, *shape)


def install(T, inplace, unary_inplace) -> None:
    """Attach the methods; ``inplace(x, op, *args)`` / ``unary_inplace(fn)`` build ``op_`` forms."""
    for name in TR.NAMES:
        fn = getattr(TR, name)
        setattr(T, name, fn)
        setattr(T, name + "_", unary_inplace(fn))
    for name in ("atan2", "arctan2", "hypot", "copysign", "logaddexp", "logaddexp2", "fmod",
                 "remainder", "xlogy", "lerp", "floor_divide"):
        fn = getattr(B, name)
        setattr(T, name, fn)
        setattr(T, name + "_", (lambda f: lambda s, *a: inplace(s, f, *a))(fn))
    for name in SP.NAMES:
        setattr(T, name, getattr(SP, name))
    for name in SP.UNARY_INPLACE:
        setattr(T, name + "_", unary_inplace(getattr(SP, name)))
    T.polygamma = lambda s, n: SP.polygamma(n, s)
    for name in EX.METHODS:
        setattr(T, name, getattr(EX, name))
    T.addcmul_ = lambda s, t1, t2, value=1: inplace(s, lambda a: EX.addcmul(a, t1, t2, value=value))
    T.addcdiv_ = lambda s, t1, t2, value=1: inplace(s, lambda a: EX.addcdiv(a, t1, t2, value=value))
    T.kthvalue, T.median = R.kthvalue, R.median
    T.nanmedian = R.median
    T.frac = SP.frac
    from . import _linalg_fns as LA
    T.det, T.logdet, T.slogdet, T.inverse = LA.det, LA.logdet, LA.slogdet, LA.inv
    T.matrix_power, T.pinverse = LA.matrix_power, LA.pinv
    T.cholesky = lambda s, upper=False: LA.cholesky(s, upper=upper)
    T.isclose = B.isclose
    T.__mod__ = B.remainder
    T.__rmod__ = lambda s, o: B.remainder(o, s)
    T.__imod__ = T.remainder_
    T.__floordiv__ = B.floor_divide
    T.__rfloordiv__ = lambda s, o: B.floor_divide(o, s)
    T.__ifloordiv__ = T.floor_divide_
    T.div = T.divide = lambda s, o, rounding_mode=None: (
        B.div_rounding(s, o, rounding_mode) if rounding_mode is not None else s.__truediv__(o))
    for name, fn in BW.METHODS.items():
        setattr(T, name, fn)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                 "bitwise_right_shift"):
        setattr(T, name + "_", (lambda f: lambda s, o: _bit_inplace(s, f, o))(getattr(BW, name)))
    T.bitwise_not_ = lambda s: _bit_inplace(s, lambda a, _: BW.bitwise_not(a), None)
    T.__iand__, T.__ior__, T.__ixor__ = T.bitwise_and_, T.bitwise_or_, T.bitwise_xor_
    T.__ilshift__, T.__irshift__ = T.bitwise_left_shift_, T.bitwise_right_shift_
    for name in SC.NAMES:
        setattr(T, name, getattr(SC, name))
    T.cumsum_ = lambda s, dim, dtype=None: inplace(s, SC.cumsum, dim)
    T.cumprod_ = lambda s, dim, dtype=None: inplace(s, SC.cumprod, dim)
    for name in D.NAMES:
        setattr(T, name, getattr(D, name))
    T.tril_ = lambda s, diagonal=0: inplace(s, D.tril, diagonal)
    T.triu_ = lambda s, diagonal=0: inplace(s, D.triu, diagonal)
    T.scatter = SR.scatter
    T.scatter_ = lambda s, dim, index, src=None, value=None, reduce=None: inplace(
        s, lambda a: SR.scatter(a, dim, index, src, value, reduce=reduce))
    T.scatter_add = SR.scatter_add
    T.scatter_add_ = lambda s, dim, index, src: inplace(s, SR.scatter_add, dim, index, src)
    T.scatter_reduce = SR.scatter_reduce
    T.scatter_reduce_ = lambda s, dim, index, src, reduce, include_self=True: inplace(
        s, lambda a: SR.scatter_reduce(a, dim, index, src, reduce, include_self=include_self))
    T.index_add = SR.index_add
    T.index_add_ = lambda s, dim, index, source, alpha=1: inplace(
        s, lambda a: SR.index_add(a, dim, index, source, alpha=alpha))
    T.index_fill = SR.index_fill
    T.index_fill_ = lambda s, dim, index, value: inplace(s, SR.index_fill, dim, index, value)
    T.index_copy = SR.index_copy
    T.index_copy_ = lambda s, dim, index, source: inplace(s, SR.index_copy, dim, index, source)
    T.take_along_dim, T.take = SR.take_along_dim, SR.take
    T.nonzero, T.argwhere, T.count_nonzero = M.nonzero, M.argwhere, M.count_nonzero
    T.unfold = M.unfold
    T.repeat_interleave = M.repeat_interleave
    T.view = _view
    T.__format__ = M.format_tensor
    install_surface(T, inplace, unary_inplace)


def _bit_inplace(x: Tensor, fn, other) -> Tensor:
    out = fn(x, other)
    if out._data.dtype != x._data.dtype and out._data.dtype.kind != x._data.dtype.kind:
        raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type {x.dtype}")
    np.copyto(x._data, np.broadcast_to(out._data, x._data.shape), casting="unsafe")
    x._version[0] += 1
    return x


_INPLACE_UNARY = ("erf", "exp2", "expm1", "log10", "log1p", "log2", "rsqrt", "sign", "sgn", "trunc",
                  "deg2rad", "rad2deg", "absolute", "negative", "fix", "positive")
_INPLACE_BINARY = ("subtract", "multiply", "divide", "true_divide", "float_power", "gcd", "lcm",
                   "ldexp", "nextafter", "heaviside", "clamp_min", "clamp_max", "logical_and",
                   "logical_or", "logical_xor", "renorm", "masked_scatter", "index_put", "put",
                   "addmm", "addmv", "addr", "baddbmm", "addbmm")
_CMP = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
        "not_equal": "ne", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}


def install_surface(T, inplace, unary_inplace) -> None:
    """The long-tail methods from ``_surface`` and the in-place/alias variants."""
    from . import _linalg as L
    from . import _surface as SF
    from . import _unary as U
    T.subtract, T.multiply = T.sub, T.mul
    T.true_divide = T.__truediv__
    T.logical_xor = U.logical_xor
    T.addmm = lambda s, a, b, *, beta=1, alpha=1: L.addmm(s, a, b, beta, alpha)
    T.clamp_min = lambda s, m: SF.clamp_min(s, m)
    T.clamp_max = lambda s, m: SF.clamp_max(s, m)
    for name in ("hsplit", "vsplit", "dsplit", "split_with_sizes", "select", "ravel", "narrow_copy",
                 "adjoint", "masked_scatter", "index_put", "put", "renorm", "mode", "quantile",
                 "nanquantile", "nanmedian", "cov", "corrcoef", "dist", "vdot", "frexp", "isin",
                 "isneginf", "isposinf", "isreal", "is_complex", "is_signed", "is_nonzero",
                 "is_same_size", "select_scatter", "slice_scatter", "diagonal_scatter",
                 "fill_diagonal_", "hardshrink", "prelu"):
        setattr(T, name, getattr(SF, name))
    T.mH = property(SF.adjoint)
    for name in _INPLACE_UNARY:
        setattr(T, name + "_", unary_inplace(getattr(T, name)))
    for name in _INPLACE_BINARY:
        setattr(T, name + "_", (lambda f: lambda s, *a, **k: inplace(s, lambda x: f(x, *a, **k)))(getattr(T, name)))
    for alias, base in _CMP.items():
        fn = getattr(U, base)
        setattr(T, alias, fn)
        setattr(T, alias + "_", (lambda f: lambda s, o: inplace(s, lambda a: f(a, o).to(a.dtype)))(fn))
    T.logical_not_ = lambda s: inplace(s, lambda a: U.logical_not(a).to(a.dtype))
    T.byte = lambda s: s.to(np.uint8)
    T.char = lambda s: s.to(np.int8)
    T.short = lambda s: s.to(np.int16)
    T.nelement, T.ndimension = T.numel, T.dim
    T.itemsize = property(lambda s: s._data.itemsize)
    T.nbytes = property(lambda s: s._data.nbytes)
    T.get_device = lambda s: -1
    T.is_pinned = lambda s, device=None: False

    def pin_memory(s, device=None):
        raise RuntimeError("Cannot access accelerator device when none is available.")  # PyTorch's words
    T.pin_memory = pin_memory
    T.is_inference = lambda s: False
    T.real = property(lambda s: s)
    T.conj = T.resolve_conj = T.resolve_neg = T.conj_physical = lambda s: s
    T.is_conj = T.is_neg = lambda s: False
    T.storage_offset = lambda s: 0 if s._base is None else int(
        (s._data.__array_interface__["data"][0] - s._base._data.__array_interface__["data"][0])
        // max(s._data.itemsize, 1))
    for name in ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims", "resize_as",
                 "as_strided"):
        if name == "resize_as":
            T.resize_as_ = lambda s, o: _meta_inplace(s, lambda x: x.reshape(o.shape))
        elif name == "as_strided":
            continue
        else:
            setattr(T, name + "_", (lambda f: lambda s, *a: _meta_inplace(s, lambda x: f(x, *a)))(getattr(T, name)))
    T.resize_ = lambda s, *size: _meta_inplace(s, lambda x: x.reshape(*size))
    T.new = lambda s, *args: (T(*args, dtype=s.dtype) if args else T(0, dtype=s.dtype))
    T.apply_ = lambda s, fn: _python_map(s, fn)
    T.map_ = lambda s, other, fn: _python_map(s, fn, other)
    T.bernoulli = lambda s, p=None, *, generator=None: _bernoulli(s, p, generator)


def _meta_inplace(x, op):
    """In-place shape change (``unsqueeze_``, ``t_``...): x takes the result's data and node."""
    y = op(x)
    x._data = y._data
    if y.grad_fn is not None:
        x.grad_fn, x._output_nr = y.grad_fn, y._output_nr
    x._version[0] += 1
    return x


def _python_map(x, fn, other=None):
    flat = x._data.reshape(-1)
    if other is None:
        vals = [fn(v) for v in flat.tolist()]
    else:
        o = np.broadcast_to(other._data, x._data.shape).reshape(-1).tolist()
        vals = [fn(a, b) for a, b in zip(flat.tolist(), o)]
    x._data[...] = np.asarray(vals, dtype=x._data.dtype).reshape(x._data.shape)
    x._version[0] += 1
    return x


def _bernoulli(x, p, generator):
    from .._creation import _rng
    prob = x._data if p is None else np.broadcast_to(p, x._data.shape)
    return Tensor._make((_rng(generator).random(x._data.shape) < prob).astype(x._data.dtype))
