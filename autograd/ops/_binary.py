"""Binary elementwise ops beyond + - * / **: rounding division, fmod/remainder, atan2,
hypot, copysign, logaddexp, lerp, isclose.

Operands follow PyTorch's promotion: a Python scalar never widens a tensor's dtype,
an integer tensor with a Python float gives the default float dtype.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._util import as_tensor_like, broadcast_error, const, quiet, result_type

_make = Tensor._make


def _operands(a, b):
    """Both operands as tensors; a Python scalar takes the dtype rules of the other side."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
        a = as_tensor_like(a, b)
    return a, as_tensor_like(b, a)


def _promote(fn, a: np.ndarray, b: np.ndarray, floating: bool = False) -> np.ndarray:
    """``fn(a, b)`` with PyTorch's result dtype (``floating``: int/bool results become float)."""
    rt = result_type(a, b) or np.result_type(a.dtype, b.dtype)
    if floating and rt.kind not in "fc":
        rt = _dtype.get_default_dtype()
    try:
        out = fn(a.astype(rt, copy=False), b.astype(rt, copy=False))
    except ValueError:
        raise broadcast_error(a, b) from None
    return out if out.dtype == rt else out.astype(rt)


def _int_zero_check(a: np.ndarray, b: np.ndarray, name: str) -> None:
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    rt = result_type(a, b) or np.result_type(a.dtype, b.dtype)
    if rt.kind in "iub" and (b == 0).any():
        raise RuntimeError(f"ZeroDivisionError ({name} of an integer tensor by zero)")


def _trunc_div(a, b):
    if a.dtype.kind in "iu":
        q = np.floor_divide(a, b)
        return q + ((q < 0) & (q * b != a))  # floor -> toward zero for negative quotients
    return np.trunc(a / b)


class RoundDivBackward(Node):
    """``div(a, b, rounding_mode='floor'|'trunc')``: piecewise constant, zero gradient."""

    @quiet
    def forward(self, a, b, mode):
        self.sa, self.sb = a.shape, b.shape
        _int_zero_check(a, b, "div")
        return _promote(np.floor_divide if mode == "floor" else _trunc_div, a, b)

    def backward(self, g):
        from ._arith import sum_to
        z = g * 0
        return sum_to(z, self.sa), sum_to(z, self.sb)


def div_rounding(a, b, rounding_mode: str) -> Tensor:
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    a, b = _operands(a, b)
    return apply(RoundDivBackward, (a, b), rounding_mode)


def floor_divide(a, b) -> Tensor:
    return div_rounding(a, b, "floor")


class ModBackward(Node):
    """``remainder`` (sign of the divisor, Python's %) or ``fmod`` (sign of the dividend).

    d/da = 1, d/db = -floor(a/b) (remainder) or -trunc(a/b) (fmod)."""
    save_inputs = (0, 1)

    @quiet
    def forward(self, a, b, is_fmod):
        self.sa, self.sb, self.is_fmod = a.shape, b.shape, is_fmod
        _int_zero_check(a, b, "fmod" if is_fmod else "remainder")
        return _promote(np.fmod if is_fmod else np.mod, a, b)

    def backward(self, g):
        from ._arith import sum_to
        a, b = self.saved_tensors
        ga = sum_to(g, self.sa) if self.next_functions[0][0] is not None else None
        gb = None
        if self.next_functions[1][0] is not None:
            q = div_rounding(a.detach(), b.detach(), "trunc" if self.is_fmod else "floor")
            gb = sum_to(-g * q, self.sb)
        return ga, gb


def remainder(a, b) -> Tensor:
    """Python-style modulus: the result has the sign of ``b``."""
    a, b = _operands(a, b)
    return apply(ModBackward, (a, b), False)


def fmod(a, b) -> Tensor:
    """C-style modulus: the result has the sign of ``a``."""
    a, b = _operands(a, b)
    return apply(ModBackward, (a, b), True)


def _float_binary(name, np_fn, grads, int_ok=True):
    """A floating binary op ``np_fn`` whose gradients ``grads(g, a, b, out)`` -> (ga, gb)."""

    class _Op(Node):
        save_inputs = (0, 1)
        saves_output = True

        @quiet
        def forward(self, a, b):
            self.sa, self.sb = a.shape, b.shape
            return _promote(np_fn, a, b, floating=True)

        def backward(self, g):
            from ._arith import sum_to
            a, b = self.saved_tensors
            ga, gb = grads(g, a, b, self.output())
            nf = self.next_functions
            return (sum_to(ga, self.sa) if nf[0][0] is not None else None,
                    sum_to(gb, self.sb) if nf[1][0] is not None else None)

    _Op.__name__ = _Op.__qualname__ = name

    def op(a, b) -> Tensor:
        a, b = _operands(a, b)
        if not int_ok and a._data.dtype.kind not in "fc" and b._data.dtype.kind not in "fc":
            raise NotImplementedError(f"\"{name.replace('Backward0', '').lower()}_cpu\" not "
                                      f"implemented for '{a.dtype}'")
        return apply(_Op, (a, b))
    return _Op, op


def _atan2_grads(g, y, x, out):
    r2 = x * x + y * y
    return g * x / r2, -g * y / r2


def _hypot_grads(g, a, b, out):
    return g * a / out, g * b / out


def _copysign_grads(g, a, b, out):
    s = const((np.sign(out._data) * np.sign(a._data)).astype(g._data.dtype))
    return g * s, g * 0  # sign(b) is piecewise constant


def _logaddexp_grads(g, a, b, out):
    from ._unary import exp
    return g * exp(a - out), g * exp(b - out)


def _logaddexp2_grads(g, a, b, out):
    from ._unary import exp
    ln2 = np.log(2.0)
    return g * exp((a - out) * ln2), g * exp((b - out) * ln2)


Atan2Backward0, atan2 = _float_binary("Atan2Backward0", np.arctan2, _atan2_grads)
HypotBackward0, hypot = _float_binary("HypotBackward0", np.hypot, _hypot_grads, int_ok=False)
CopysignBackward0, copysign = _float_binary("CopysignBackward0", np.copysign, _copysign_grads)
LogaddexpBackward0, logaddexp = _float_binary("LogaddexpBackward0", np.logaddexp, _logaddexp_grads,
                                              int_ok=False)
Logaddexp2Backward0, logaddexp2 = _float_binary("Logaddexp2Backward0", np.logaddexp2,
                                                _logaddexp2_grads, int_ok=False)
arctan2 = atan2


def lerp(start: Tensor, end, weight) -> Tensor:
    """``start + weight * (end - start)`` (differentiable in all three)."""
    start, end = _operands(start, end)
    if start._data.dtype.kind != "f":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for '{start.dtype}'")
    if not isinstance(weight, Tensor):
        weight = as_tensor_like(weight, start)
    return start + weight * (end - start)


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (bool tensor)."""
    a, b = _operands(a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    return _make(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def xlogy(a, b) -> Tensor:
    """``a * log(b)``, 0 where ``a == 0`` (also when ``b`` is 0)."""
    from ._unary import log, where
    a, b = _operands(a, b)
    rt = result_type(a._data, b._data) or np.result_type(a._data.dtype, b._data.dtype)
    rt = rt if rt.kind == "f" else _dtype.get_default_dtype()
    a, b = a.to(rt), b.to(rt)
    zero = a._data == 0
    safe_b = where(np.broadcast_to(zero, np.broadcast_shapes(zero.shape, b._data.shape)), 1.0, b)
    return where(zero & ~np.isnan(b._data), 0.0, a * log(safe_b))
