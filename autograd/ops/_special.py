"""Special and less common elementwise functions: erfc, erfinv, lgamma, digamma, i0, logit,
frac, nan_to_num, heaviside, fmax/fmin, float_power, gcd/lcm, nansum/nanmean...

scipy.special supplies the transcendental kernels (it is a dependency of the project's
image stack); every differentiable one has a backward written in differentiable ops.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._apply import apply
from .._tensor import Tensor
from ._binary import _float_binary, _operands, _promote
from ._unary import _unary_op, exp, where
from ._util import const, np_aliases

_make = Tensor._make


def _sp(name):
    def fn(x):
        from scipy import special
        return getattr(special, name)(x).astype(x.dtype, copy=False)
    return fn


ErfcBackward0 = _unary_op("ErfcBackward0", _sp("erfc"),
                          lambda g, x: g * exp(-(x * x)) * (-2 / math.sqrt(math.pi)))
ErfinvBackward0 = _unary_op("ErfinvBackward0", _sp("erfinv"),
                            lambda g, y: g * exp(y * y) * (math.sqrt(math.pi) / 2), "output",
                            silent=True)
LgammaBackward0 = _unary_op("LgammaBackward0", _sp("gammaln"), lambda g, x: g * digamma(x),
                            silent=True)
DigammaBackward0 = _unary_op("DigammaBackward0", _sp("digamma"), lambda g, x: g * polygamma(1, x),
                             silent=True)
I0Backward0 = _unary_op("I0Backward0", _sp("i0"), lambda g, x: g * _i1(x))
I1Backward0 = _unary_op("I1Backward0", _sp("i1"),
                        lambda g, x: g * (i0(x) - where(x._data == 0, 0.5, _i1(x) / where(x._data == 0, 1.0, x))))


def erfc(x: Tensor) -> Tensor: return apply(ErfcBackward0, (x,))
def erfinv(x: Tensor) -> Tensor: return apply(ErfinvBackward0, (x,))
def lgamma(x: Tensor) -> Tensor: return apply(LgammaBackward0, (x,))
def digamma(x: Tensor) -> Tensor: return apply(DigammaBackward0, (x,))
def i0(x: Tensor) -> Tensor: return apply(I0Backward0, (x,))
def _i1(x: Tensor) -> Tensor: return apply(I1Backward0, (x,))


class _Polygamma:
    cache: dict = {}


def polygamma(n: int, x: Tensor) -> Tensor:
    """The n-th derivative of digamma."""
    if n == 0:
        return digamma(x)
    cls = _Polygamma.cache.get(n)
    if cls is None:
        from scipy import special
        cls = _unary_op(f"PolygammaBackward{n}",
                        lambda a, n=n: special.polygamma(n, a).astype(a.dtype, copy=False),
                        lambda g, x, n=n: g * polygamma(n + 1, x), silent=True)
        _Polygamma.cache[n] = cls
    return apply(cls, (x,))


def _floating(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" else x.to(_dtype.get_default_dtype())


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``, with ``x`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    from ._unary import clamp, log
    x = _floating(x)
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return log(x / (1 - x))


def frac(x: Tensor) -> Tensor:
    from ._unary import trunc
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{x.dtype}'")
    return x - trunc(x)


def fix(x: Tensor) -> Tensor:
    from ._unary import trunc
    return trunc(x)


def positive(x: Tensor) -> Tensor:
    if x._data.dtype == np.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return x


def sgn(x: Tensor) -> Tensor:
    from ._unary import sign
    return sign(x)


def signbit(x: Tensor) -> Tensor:
    return _make(np.signbit(x._data))


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +-inf -> ``posinf``/``neginf`` (the dtype's extremes by default)."""
    a = x._data
    if a.dtype.kind != "f":
        return x
    info = np.finfo(a.dtype)
    fill = np.nan_to_num(a, nan=nan, posinf=info.max if posinf is None else posinf,
                         neginf=info.min if neginf is None else neginf)
    bad = ~np.isfinite(a)
    if not bad.any():
        return x * 1
    return where(bad, const(fill.astype(a.dtype)), x)


def heaviside(x: Tensor, values) -> Tensor:
    x, values = _operands(x, values)
    if x._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    out = np.heaviside(x._data, values._data) if x._data.dtype.kind == "f" else \
        np.where(x._data == 0, values._data, (x._data > 0).astype(x._data.dtype))
    return _make(out.astype(x._data.dtype, copy=False))


def nextafter(a, b) -> Tensor:
    a, b = _operands(a, b)
    return _make(_promote(np.nextafter, a._data, b._data))


def ldexp(x, other) -> Tensor:
    """``x * 2 ** other``."""
    from ._arith import mul, rpow
    x, other = _operands(x, other)
    return mul(_floating(x), rpow(_floating(other) if other._data.dtype.kind == "f" else
                                  other.to(_dtype.get_default_dtype()), 2.0))


def _fmax_grads(g, a, b, out):
    wa = const(((a._data == out._data) | np.isnan(b._data)).astype(g._data.dtype))
    return g * wa, g * (1 - wa)


FmaxBackward0, _fmax = _float_binary("FmaxBackward0", np.fmax, _fmax_grads)
FminBackward0, _fmin = _float_binary("FminBackward0", np.fmin, _fmax_grads)


def fmax(a, b) -> Tensor:
    """Elementwise maximum that ignores NaN (takes the other value)."""
    a, b = _operands(a, b)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        return _make(_promote(np.fmax, a._data, b._data))
    return _fmax(a, b)


def fmin(a, b) -> Tensor:
    """Elementwise minimum that ignores NaN (takes the other value)."""
    a, b = _operands(a, b)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        return _make(_promote(np.fmin, a._data, b._data))
    return _fmin(a, b)


def true_divide(a, b) -> Tensor:
    from ._arith import div
    return div(a, b)


def float_power(a, b) -> Tensor:
    """``a ** b`` computed in float64 (PyTorch's float_power)."""
    from ._arith import pow as _pow
    f64 = _dtype.float64
    if isinstance(a, Tensor):
        a = a.to(f64)
    if isinstance(b, Tensor):
        b = b.to(f64)
    if not isinstance(a, Tensor):
        return _pow(float(a), b)
    return _pow(a, float(b) if isinstance(b, (int, float)) else b)


def gcd(a, b) -> Tensor:
    a, b = _operands(a, b)
    return _make(_promote(np.gcd, a._data, b._data))


def lcm(a, b) -> Tensor:
    a, b = _operands(a, b)
    return _make(_promote(np.lcm, a._data, b._data))


def nansum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Sum treating NaN as zero."""
    from ._reduce import sum as _sum
    if x._data.dtype.kind == "f" and np.isnan(x._data).any():
        x = where(np.isnan(x._data), 0.0, x)
    return _sum(x, dim, keepdim, dtype=dtype)


def nanmean(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Mean over the non-NaN elements."""
    from ._reduce import sum as _sum
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but "
                           f"got {x.dtype}")
    keep = ~np.isnan(x._data)
    count = _sum(_make(keep.astype(x._data.dtype)), dim, keepdim)
    return nansum(x, dim, keepdim, dtype) / count


nansum = np_aliases(nansum)
nanmean = np_aliases(nanmean)
absolute = None  # set below (avoids shadowing the builtin in this module's code)


def _install_aliases():
    from ._unary import abs as _abs
    globals()["absolute"] = _abs


_install_aliases()
NAMES = ("erfc", "erfinv", "lgamma", "digamma", "i0", "logit", "frac", "fix", "positive", "sgn",
         "signbit", "nan_to_num", "heaviside", "nextafter", "ldexp", "fmax", "fmin",
         "true_divide", "float_power", "gcd", "lcm", "nansum", "nanmean", "absolute",
         "polygamma")
UNARY_INPLACE = ("erfc", "erfinv", "lgamma", "digamma", "i0", "logit", "frac", "fix",
                 "nan_to_num")
