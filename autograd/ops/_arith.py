"""Arithmetic: + - * / ** with broadcasting and Python scalars on either side."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import broadcast_error, const, quiet, result_type, sum_to_array

_make = Tensor._make


class SumToBackward0(Node):
    def forward(self, g, shape):
        self.in_shape = g.shape
        return sum_to_array(g, shape)

    def backward(self, gg):
        return expand(gg, self.in_shape)


class ExpandBackward0(Node):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


def sum_to(g: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if g._data.shape == shape:
        return g
    return apply(SumToBackward0, (g,), shape)


def expand(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x._data.shape == shape:
        return x
    return apply(ExpandBackward0, (x,), shape)


def _binary(fn, a, b):
    try:
        out = fn(a, b)
    except ValueError:
        raise broadcast_error(a, b) from None
    rt = result_type(a, b)
    if rt is not None and out.dtype != rt:
        out = out.astype(rt)
    return out


class AddBackward0(Node):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return _binary(np.add, a, b)

    def backward(self, g):
        return sum_to(g, self.sa), sum_to(g, self.sb)


class SubBackward0(Node):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return _binary(np.subtract, a, b)

    def backward(self, g):
        return sum_to(g, self.sa), (sum_to(-g, self.sb) if self.next_functions[1][0] else None)


class MulBackward0(Node):
    save_inputs = (0, 1)

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return _binary(np.multiply, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        nf = self.next_functions
        ga = sum_to(g * b, self.sa) if nf[0][0] is not None else None
        gb = sum_to(g * a, self.sb) if nf[1][0] is not None else None
        return ga, gb


class DivBackward0(Node):
    save_inputs = (0, 1)

    @quiet
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        if a.dtype.kind in "iub" and b.dtype.kind in "iub":
            return np.true_divide(a, b, dtype=_dtype.get_default_dtype())
        return _binary(np.true_divide, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        ga = g / b
        gb = sum_to(-ga * a / b, self.sb) if self.next_functions[1][0] is not None else None
        return sum_to(ga, self.sa), gb


class PowBackward1(Node):
    """Tensor ** Tensor."""
    save_inputs = (0, 1)
    saves_output = True

    @quiet
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return _binary(np.power, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        nf = self.next_functions
        ga = None
        if nf[0][0] is not None:
            ga = g * b * a ** (b - 1)
            if (b._data == 0).any():  # d/da a**0 = 0, also at a == 0 (0 * 0**-1 would be nan)
                ga = where(const(np.broadcast_to(b._data == 0, ga._data.shape)), 0.0, ga)
            ga = sum_to(ga, self.sa)
        gb = None
        if nf[1][0] is not None:
            safe = where(const(a._data > 0), a, 1.0)  # d/db a**b = a**b log a; 0 where a == 0
            gb = sum_to(g * self.output() * log(safe), self.sb)
        return ga, gb


def _scalar_result(out, a, s):
    """int tensor (op) Python float -> the default float dtype (numpy would give float64)."""
    if a.dtype.kind in "iub" and isinstance(s, np.floating) and out.dtype != s.dtype:
        return out.astype(s.dtype)
    return out


class AddScalarBackward(Node):
    def forward(self, a, s):
        return _scalar_result(a + s, a, s)

    def backward(self, g):
        return g


class MulScalarBackward(Node):
    def forward(self, a, s):
        self.s = s
        return _scalar_result(a * s, a, s)

    def backward(self, g):
        return g * self.s


class DivScalarBackward(Node):
    def forward(self, a, s):
        self.s = s
        return a / s

    def backward(self, g):
        return g / self.s


class RSubScalarBackward(Node):
    def forward(self, a, s):
        return _scalar_result(s - a, a, s)

    def backward(self, g):
        return -g


class RDivScalarBackward(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, a, s):
        if a.dtype.kind in "iub":
            a = a.astype(_dtype.get_default_dtype())
        return s / a

    def backward(self, g):
        (a,) = self.saved_tensors
        return -g * self.output() / a


class PowScalarBackward(Node):
    save_inputs = (0,)

    @quiet
    def forward(self, a, c):
        self.c = c
        if c == 2:
            return a * a
        return np.power(a, c)

    def backward(self, g):
        (a,) = self.saved_tensors
        c = self.c
        if c == 0:
            return g * 0
        if c == 1:
            return g
        if c == 2:
            return g * a * 2
        return g * (a ** (c - 1)) * c


class RPowScalarBackward(Node):
    saves_output = True

    @quiet
    def forward(self, a, c):
        self.logc = float(np.log(c)) if c > 0 else float("nan")
        if a.dtype.kind in "iub":
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                return np.power(np.int64(c), a.astype(np.int64))  # 2 ** int tensor: int64
            a = a.astype(_dtype.get_default_dtype())
        return np.power(a.dtype.type(c), a)

    def backward(self, g):
        return g * self.output() * self.logc


class NegBackward0(Node):
    def forward(self, a):
        return np.negative(a)

    def backward(self, g):
        return -g


def _scalar(s, x: Tensor):
    return _dtype.scalar_for(s, x._data.dtype)


def _is_scalar(b) -> bool:
    return isinstance(b, (int, float, bool, np.number, np.bool_))


def add(a, b, alpha=1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    if isinstance(b, Tensor):
        if not isinstance(a, Tensor):
            return add(b, a)
        return apply(AddBackward0, (a, b))
    if _is_scalar(b):
        return apply(AddScalarBackward, (a,), _scalar(b, a))
    return apply(AddBackward0, (a, _wrap(b, a)))


def sub(a, b, alpha=1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    if isinstance(b, Tensor):
        if not isinstance(a, Tensor):
            return rsub(b, a)
        return apply(SubBackward0, (a, b))
    if _is_scalar(b):
        return apply(AddScalarBackward, (a,), _scalar(-b, a))
    return apply(SubBackward0, (a, _wrap(b, a)))


def rsub(a: Tensor, b) -> Tensor:
    """``b - a``."""
    if _is_scalar(b):
        return apply(RSubScalarBackward, (a,), _scalar(b, a))
    return apply(SubBackward0, (_wrap(b, a), a))


def mul(a, b) -> Tensor:
    if isinstance(b, Tensor):
        if not isinstance(a, Tensor):
            return mul(b, a)
        return apply(MulBackward0, (a, b))
    if _is_scalar(b):
        return apply(MulScalarBackward, (a,), _scalar(b, a))
    return apply(MulBackward0, (a, _wrap(b, a)))


def div(a, b, rounding_mode=None) -> Tensor:
    if rounding_mode is not None:
        return _div_rounding(a, b, rounding_mode)
    if isinstance(b, Tensor):
        if not isinstance(a, Tensor):
            return apply(DivBackward0, (_wrap(a, b), b))
        return apply(DivBackward0, (a, b))
    if _is_scalar(b) and a._data.dtype.kind == "f":
        return apply(DivScalarBackward, (a,), _scalar(b, a))
    return apply(DivBackward0, (a, _wrap(b, a)))


def rdiv(a: Tensor, b) -> Tensor:
    """``b / a``."""
    if _is_scalar(b):
        return apply(RDivScalarBackward, (a,), _scalar(b, a) if a._data.dtype.kind == "f" else float(b))
    return apply(DivBackward0, (_wrap(b, a), a))


def _div_rounding(a, b, mode):
    from .._tensor import Tensor as T
    ad = a._data if isinstance(a, T) else np.asarray(a)
    bd = b._data if isinstance(b, T) else np.asarray(b)
    if mode == "floor":
        out = np.floor_divide(ad, bd)
    elif mode == "trunc":
        out = np.trunc(np.true_divide(ad, bd)).astype(np.result_type(ad, bd))
    else:
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")
    return _make(out)


def pow(a, b) -> Tensor:  # noqa: A001 - PyTorch's name
    if not isinstance(a, Tensor):
        return rpow(b, a)
    if isinstance(b, Tensor):
        return apply(PowBackward1, (a, b))
    if _is_scalar(b):
        if a._data.dtype.kind in "iub" and isinstance(b, float):
            a = _make(a._data.astype(_dtype.get_default_dtype()))
        return apply(PowScalarBackward, (a,), _scalar(b, a))
    return apply(PowBackward1, (a, _wrap(b, a)))


def rpow(a: Tensor, b) -> Tensor:
    """``b ** a``."""
    if _is_scalar(b):
        return apply(RPowScalarBackward, (a,), b)
    return apply(PowBackward1, (_wrap(b, a), a))


def neg(a: Tensor) -> Tensor:
    return apply(NegBackward0, (a,))


def _wrap(x, like: Tensor) -> Tensor:
    from ._util import as_tensor_like
    return as_tensor_like(x, like)


from ._unary import log, where  # noqa: E402  (used inside backward formulas)
