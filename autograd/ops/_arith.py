"""Arithmetic: + - * / ** with broadcasting and Python scalars on either side."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import broadcast_error, quiet, result_type, sum_to_array

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


def _no_bool_sub(a, b) -> None:
    if (isinstance(a, Tensor) and a._data.dtype == np.bool_) or \
            (isinstance(b, Tensor) and b._data.dtype == np.bool_):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")


def sub(a, b, alpha=1) -> Tensor:
    _no_bool_sub(a, b)
    if alpha != 1:
        b = mul(b, alpha)
    if isinstance(b, Tensor):
        if not isinstance(a, Tensor):
            return rsub(b, a)
        return apply(SubBackward0, (a, b))
    if _is_scalar(b) and a._data.dtype.kind not in "iu":
        return apply(AddScalarBackward, (a,), _scalar(-b, a))
    return apply(SubBackward0, (a, _wrap(b, a)))


def rsub(a: Tensor, b) -> Tensor:
    """``b - a``."""
    _no_bool_sub(a, b)
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
    from ._binary import div_rounding
    return div_rounding(a, b, mode)


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
    if a._data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return apply(NegBackward0, (a,))


def _wrap(x, like: Tensor) -> Tensor:
    from ._util import as_tensor_like
    return as_tensor_like(x, like)


from ._unary import log, where  # noqa: E402,F401  (used inside backward formulas)
from ._pow import PowBackward1, PowScalarBackward, RPowScalarBackward  # noqa: E402
