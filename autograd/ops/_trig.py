"""Hyperbolic and inverse trigonometric functions (each with a differentiable backward)."""
from __future__ import annotations

import numpy as np

from .._apply import apply
from .._tensor import Tensor
from ._unary import _unary_op, sin


def _sinh_grad(g, x):
    return g * cosh(x)


def _cosh_grad(g, x):
    return g * sinh(x)


SinhBackward0 = _unary_op("SinhBackward0", np.sinh, _sinh_grad, silent=True)
CoshBackward0 = _unary_op("CoshBackward0", np.cosh, _cosh_grad, silent=True)
AsinhBackward0 = _unary_op("AsinhBackward0", np.arcsinh, lambda g, x: g * (x * x + 1) ** -0.5)
AcoshBackward0 = _unary_op("AcoshBackward0", np.arccosh, lambda g, x: g * (x * x - 1) ** -0.5,
                           silent=True)
AtanhBackward0 = _unary_op("AtanhBackward0", np.arctanh, lambda g, x: g / (1 - x * x), silent=True)
AsinBackward0 = _unary_op("AsinBackward0", np.arcsin, lambda g, x: g * (1 - x * x) ** -0.5,
                          silent=True)
AcosBackward0 = _unary_op("AcosBackward0", np.arccos, lambda g, x: -g * (1 - x * x) ** -0.5,
                          silent=True)
AtanBackward0 = _unary_op("AtanBackward0", np.arctan, lambda g, x: g / (x * x + 1))
TanBackward0 = _unary_op("TanBackward0", np.tan, lambda g, y: g * (y * y + 1), "output", silent=True)


def sinh(x: Tensor) -> Tensor: return apply(SinhBackward0, (x,))
def cosh(x: Tensor) -> Tensor: return apply(CoshBackward0, (x,))
def asinh(x: Tensor) -> Tensor: return apply(AsinhBackward0, (x,))
def acosh(x: Tensor) -> Tensor: return apply(AcoshBackward0, (x,))
def atanh(x: Tensor) -> Tensor: return apply(AtanhBackward0, (x,))
def asin(x: Tensor) -> Tensor: return apply(AsinBackward0, (x,))
def acos(x: Tensor) -> Tensor: return apply(AcosBackward0, (x,))
def atan(x: Tensor) -> Tensor: return apply(AtanBackward0, (x,))
def tan(x: Tensor) -> Tensor: return apply(TanBackward0, (x,))


def sinc(x: Tensor) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    from ._unary import where
    px = x * np.pi if x._data.dtype.kind == "f" else x.to(np.float32) * np.pi
    zero = px._data == 0
    safe = where(zero, 1.0, px)
    return where(zero, 1.0, sin(safe) / safe)


arcsinh, arccosh, arctanh = asinh, acosh, atanh
arcsin, arccos, arctan = asin, acos, atan

NAMES = ("sinh", "cosh", "asinh", "acosh", "atanh", "asin", "acos", "atan", "tan", "sinc",
         "arcsinh", "arccosh", "arctanh", "arcsin", "arccos", "arctan")
