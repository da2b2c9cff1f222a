"""Public names of the newer op modules, re-exported by ``autograd/__init__`` in one line."""
from ._binary import (arctan2, atan2, copysign, div_rounding, floor_divide, fmod, hypot,  # noqa: F401
                      isclose, lerp, logaddexp, logaddexp2, remainder, xlogy)
from ._bitwise import (bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or,  # noqa: F401
                       bitwise_right_shift, bitwise_xor)
from ._diag import diag, diag_embed, diagflat, diagonal, meshgrid, trace, tril, triu  # noqa: F401
from ._misc import argwhere, count_nonzero, nonzero, repeat_interleave  # noqa: F401
from ._scan import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: F401
from ._scatter import (index_add, index_copy, index_fill, scatter, scatter_add,  # noqa: F401
                       scatter_reduce, take, take_along_dim)
from . import _linalg_fns as linalg  # noqa: F401  (torch.linalg)
from ._extra import *  # noqa: F401,F403
from ._surface import *  # noqa: F401,F403
from ._linalg_fns import det, logdet, matrix_power, slogdet  # noqa: F401
from ._linalg_fns import inv as inverse, pinv as pinverse  # noqa: F401
from ._extra import NAMES as _EXTRA_NAMES  # noqa: F401
from ._special import (absolute, digamma, erfc, erfinv, fix, float_power, fmax, fmin, frac,  # noqa: F401
                       gcd, heaviside, i0, lcm, ldexp, lgamma, logit, nan_to_num, nanmean,
                       nansum, nextafter, polygamma, positive, sgn, signbit, true_divide)
from ._reduce import argsort, kthvalue, median, sort, topk  # noqa: F401
from ._trig import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, asin,  # noqa: F401
                    asinh, atan, atanh, cosh, sinc, sinh, tan)

__all__ = [n for n in dir() if not n.startswith("_") and n != "div_rounding"]


from .._tensor import Tensor as _Tensor  # noqa: E402


def _module_inplace(name):
    def fn(x, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)
    fn.__name__ = name
    return fn


# torch.relu_(x), torch.sin_(x), ...: the in-place method as a function
for _n in ("abs_", "acos_", "acosh_", "asin_", "asinh_", "atan_", "atanh_", "arccos_", "arccosh_",
           "arcsin_", "arcsinh_", "arctan_", "arctanh_", "ceil_", "clamp_", "clip_", "cos_",
           "cosh_", "deg2rad_", "erf_", "erfc_", "exp_", "exp2_", "expm1_", "fix_", "floor_",
           "frac_", "i0_", "log_", "log10_", "log1p_", "log2_", "logit_", "nan_to_num_", "neg_",
           "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_",
           "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "zero_",
           "fill_", "gcd_", "lcm_", "ldexp_", "xlogy_", "clamp_min_", "clamp_max_", "index_put_",
           "detach_", "selu_", "celu_", "threshold_", "rrelu_", "dropout_", "fill_diagonal_"):
    if hasattr(_Tensor, _n):
        globals()[_n] = _module_inplace(_n)
from ._shape import movedim as moveaxis  # noqa: E402
from ._unary import ge as greater_equal, gt as greater, le as less_equal, lt as less, ne as not_equal  # noqa: E402,F401

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("div_rounding",)]
