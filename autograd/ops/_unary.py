"""Elementwise functions, activations, clamp/maximum/minimum/where, comparisons."""
from __future__ import annotations

import math

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import as_tensor_like, broadcast_error, const, quiet, result_type

_make = Tensor._make


def _unary_op(name, np_fn, grad_fn, save="input", silent=False):
    """Build a Node class for ``y = np_fn(x)`` with ``dx = grad_fn(g, x or y)``.

    ``silent``: inf/nan results (log(0), sqrt(-1)) without numpy warnings.
    """

    def forward(self, x):
        if x.dtype.kind in "iub":  # integer input: the default float dtype (as PyTorch)
            from .. import _dtype
            x = x.astype(_dtype.get_default_dtype())
        return np_fn(x)
    if silent:
        forward = quiet(forward)

    if save == "output":
        def backward(self, g):
            return grad_fn(g, self.output())
        attrs = {"saves_output": True}
    else:
        def backward(self, g):
            return grad_fn(g, self.saved_tensors[0])
        attrs = {"save_inputs": (0,)}
    return type(name, (Node,), {"forward": forward, "backward": backward, **attrs})


ExpBackward0 = _unary_op("ExpBackward0", np.exp, lambda g, y: g * y, "output", silent=True)
LogBackward0 = _unary_op("LogBackward0", np.log, lambda g, x: g / x, silent=True)
Log1PBackward0 = _unary_op("Log1PBackward0", np.log1p, lambda g, x: g / (x + 1), silent=True)
SqrtBackward0 = _unary_op("SqrtBackward0", np.sqrt, lambda g, y: g / (y * 2), "output", silent=True)
RsqrtBackward0 = _unary_op("RsqrtBackward0", lambda x: 1 / np.sqrt(x),
                           lambda g, y: g * y * y * y * -0.5, "output", silent=True)
SinBackward0 = _unary_op("SinBackward0", np.sin, lambda g, x: g * cos(x))
CosBackward0 = _unary_op("CosBackward0", np.cos, lambda g, x: -(g * sin(x)))
TanhBackward0 = _unary_op("TanhBackward0", np.tanh, lambda g, y: g * (1 - y * y), "output")


def _np_sigmoid(x):
    # Split by sign so exp never overflows.
    out = np.empty_like(x)
    pos = x >= 0
    e = np.exp(-np.abs(x))
    np.divide(1, 1 + e, out=out, where=pos)
    np.divide(e, 1 + e, out=out, where=~pos)
    return out


SigmoidBackward0 = _unary_op("SigmoidBackward0", _np_sigmoid, lambda g, y: g * y * (1 - y), "output")


def _erf(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf
        return erf(x).astype(x.dtype, copy=False)
    except ImportError:  # pragma: no cover - scipy is normally present
        return np.vectorize(math.erf, otypes=[x.dtype])(x)


ErfBackward0 = _unary_op("ErfBackward0", _erf,
                         lambda g, x: g * exp(-(x * x)) * (2 / math.sqrt(math.pi)))


class MaskedScaleBackward(Node):
    """``y = x * w`` with a constant weight array (relu, leaky_relu, clamp, abs)."""

    def forward(self, x, kind, *args):
        if kind == "relu":
            self.w = x > 0
            return np.maximum(x, 0)
        if kind == "leaky_relu":
            slope = args[0]
            self.w = np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
            return x * self.w
        if kind == "clamp":
            lo, hi = args
            out = x
            mask = np.ones(x.shape, dtype=bool)
            if lo is not None:
                lo_a = lo if not isinstance(lo, Tensor) else lo._data
                mask &= x >= lo_a
                out = np.maximum(out, lo_a)
            if hi is not None:
                hi_a = hi if not isinstance(hi, Tensor) else hi._data
                mask &= x <= hi_a
                out = np.minimum(out, hi_a)
            self.w = mask
            return out.astype(x.dtype, copy=False)
        if kind == "abs":
            self.w = np.sign(x)
            return np.abs(x)
        if kind == "zero":  # sign, round, floor, ceil: gradient is zero
            self.w = None
            return args[0](x)
        raise ValueError(kind)

    def backward(self, g):
        if self.w is None:
            return g * 0
        return g * const(self.w)


def relu(x: Tensor) -> Tensor:
    return apply(MaskedScaleBackward, (x,), "relu")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return apply(MaskedScaleBackward, (x,), "leaky_relu", negative_slope)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    if x._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    return apply(MaskedScaleBackward, (x,), "abs")


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, as_tensor_like(min, x))
        if max is not None:
            out = minimum(out, as_tensor_like(max, x))
        return out
    return apply(MaskedScaleBackward, (x,), "clamp", min, max)


def _zero_grad_op(fn, bool_ok=False):
    def op(x: Tensor) -> Tensor:
        if x._data.dtype == np.bool_:
            if bool_ok:
                return _make(x._data.copy())
            raise NotImplementedError(f"\"{fn.__name__}_vml_cpu\" not implemented for 'Bool'")
        if x._data.dtype.kind in "iu" and fn is not np.sign:
            return _make(x._data.copy())  # floor/round/trunc of integers: the same integers
        return apply(MaskedScaleBackward, (x,), "zero", fn)
    return op


sign = _zero_grad_op(np.sign, bool_ok=True)
floor = _zero_grad_op(np.floor)
ceil = _zero_grad_op(np.ceil)
round = _zero_grad_op(np.round)  # noqa: A001
trunc = _zero_grad_op(np.trunc)


class MaxMinBackward(Node):
    """Elementwise maximum/minimum; ties share the gradient equally (as PyTorch)."""

    def forward(self, a, b, is_max):
        self.sa, self.sb = a.shape, b.shape
        try:
            out = np.maximum(a, b) if is_max else np.minimum(a, b)
        except ValueError:
            raise broadcast_error(a, b) from None
        rt = result_type(a, b)
        out = out.astype(rt) if rt is not None else out
        wins = (a > b) if is_max else (a < b)
        self.wa = (wins + 0.5 * (a == b)).astype(out.dtype)
        return out

    def backward(self, g):
        from ._arith import sum_to
        w = const(self.wa)
        return sum_to(g * w, self.sa), sum_to(g * (1 - w), self.sb)


def maximum(a: Tensor, b) -> Tensor:
    return apply(MaxMinBackward, (a, as_tensor_like(b, a)), True)


def minimum(a: Tensor, b) -> Tensor:
    return apply(MaxMinBackward, (a, as_tensor_like(b, a)), False)


class WhereBackward0(Node):
    def forward(self, a, b, cond):
        self.cond, self.sa, self.sb = cond, a.shape, b.shape
        try:
            out = np.where(cond, a, b)
        except ValueError:
            raise RuntimeError(f"where: shapes of condition {tuple(cond.shape)}, input {tuple(a.shape)} "
                               f"and other {tuple(b.shape)} are not broadcastable") from None
        rt = result_type(a, b)
        return out.astype(rt) if rt is not None else out

    def backward(self, g):
        from ._arith import sum_to
        zero = const(np.zeros((), dtype=g._data.dtype))
        c = self.cond
        ga = sum_to(where(c, g, zero), self.sa) if self.next_functions[0][0] else None
        gb = sum_to(where(c, zero, g), self.sb) if self.next_functions[1][0] else None
        return ga, gb


def where(condition, input=None, other=None) -> Tensor:  # noqa: A002
    """``condition ? input : other`` elementwise (``where(cond)`` gives indices)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(cond))
    if not isinstance(input, Tensor):
        input = as_tensor_like(input, other) if isinstance(other, Tensor) else _make(np.asarray(input))
    other = as_tensor_like(other, input)
    return apply(WhereBackward0, (input, other), cond.astype(bool, copy=False))


def exp(x): return apply(ExpBackward0, (x,))
def log(x): return apply(LogBackward0, (x,))
def log1p(x): return apply(Log1PBackward0, (x,))
def sqrt(x): return apply(SqrtBackward0, (x,))
def rsqrt(x): return apply(RsqrtBackward0, (x,))
def sin(x): return apply(SinBackward0, (x,))
def cos(x): return apply(CosBackward0, (x,))
def tanh(x): return apply(TanhBackward0, (x,))
def sigmoid(x): return apply(SigmoidBackward0, (x,))
def erf(x): return apply(ErfBackward0, (x,))
def log2(x): return log(x) / math.log(2)
def log10(x): return log(x) / math.log(10)
def exp2(x): return exp(x * math.log(2))
def expm1(x): return exp(x) - 1
def square(x): return x * x if x._data.dtype != np.bool_ else x.to(np.int64) * x.to(np.int64)
def reciprocal(x): return 1 / x
def deg2rad(x): return x * (math.pi / 180)
def rad2deg(x): return x * (180 / math.pi)
def silu(x): return x * sigmoid(x)
def mish(x): return x * tanh(softplus(x))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (exact, or ``approximate='tanh'``)."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (tanh(inner) + 1)
    if approximate != "none":
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return apply(GeluBackward0, (x,))


class GeluBackward0(Node):
    save_inputs = (0,)

    def forward(self, x):
        return (0.5 * x * (1 + _erf(x * (1 / math.sqrt(2))))).astype(x.dtype, copy=False)

    def backward(self, g):
        (x,) = self.saved_tensors
        cdf = (erf(x * (1 / math.sqrt(2))) + 1) * 0.5
        pdf = exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + x * pdf)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold``."""
    bx = x * beta if beta != 1 else x
    soft = (log1p(exp(-abs(bx))) + relu(bx))
    soft = soft / beta if beta != 1 else soft
    return where(bx._data > threshold, x, soft)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    neg = (exp(minimum(x, 0.0)) - 1) * alpha
    return where(x._data > 0, x, neg)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return where(x._data > 0, x, (exp(minimum(x, 0.0) / alpha) - 1) * alpha)


def selu(x: Tensor) -> Tensor:
    return elu(x, 1.6732632423543772) * 1.0507009873554805


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return clamp(x, min_val, max_val)


def relu6(x: Tensor) -> Tensor:
    return clamp(x, 0.0, 6.0)


def hardsigmoid(x: Tensor) -> Tensor:
    return clamp(x / 6 + 0.5, 0.0, 1.0)


def hardswish(x: Tensor) -> Tensor:
    return x * hardsigmoid(x)


def logsigmoid(x: Tensor) -> Tensor:
    return -softplus(-x)


# -- comparisons and predicates (non-differentiable, bool results) -------
def _cmp(fn):
    def op(a, b):
        ad = a._data if isinstance(a, Tensor) else np.asarray(a)
        bd = b._data if isinstance(b, Tensor) else np.asarray(b)
        try:
            return _make(fn(ad, bd))
        except ValueError:
            raise broadcast_error(np.asarray(ad), np.asarray(bd)) from None
    return op


eq, ne = _cmp(np.equal), _cmp(np.not_equal)
lt, le, gt, ge = _cmp(np.less), _cmp(np.less_equal), _cmp(np.greater), _cmp(np.greater_equal)
logical_and, logical_or, logical_xor = _cmp(np.logical_and), _cmp(np.logical_or), _cmp(np.logical_xor)


def logical_not(x): return _make(np.logical_not(x._data))
def isnan(x): return _make(np.isnan(x._data))
def isinf(x): return _make(np.isinf(x._data))
def isfinite(x): return _make(np.isfinite(x._data))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(a._data, b._data if isinstance(b, Tensor) else b, rtol, atol, equal_nan))


def equal(a, b) -> bool:
    return a._data.shape == b._data.shape and bool(np.array_equal(a._data, b._data))


from ._trig import tan  # noqa: E402,F401  (one node; its home is _trig)
