"""autograd: a define-by-run automatic differentiation engine over numpy.

Its public names follow PyTorch, so ordinary PyTorch-style code runs after
``import autograd as torch`` wherever the names exist.

Examples
--------
>>> import autograd as torch
>>> x = torch.tensor(2.0, requires_grad=True)
>>> y = x ** 2 + 3 * x + 1
>>> y.backward()
>>> x.grad
tensor(7.)
"""
from __future__ import annotations

from . import _dtype
from . import _tensor_methods  # noqa: F401  (attaches operators to Tensor)
from ._creation import (Generator, arange, as_tensor, bernoulli, default_generator, empty,  # noqa: F401
                        empty_like, eye, from_numpy, full, full_like, get_rng_state, initial_seed,
                        linspace, logspace, manual_seed, multinomial, normal, ones, ones_like,
                        rand, rand_like, randint, randint_like, randn, randn_like, randperm, seed,
                        set_rng_state, tensor, zeros, zeros_like)
from ._dtype import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: F401,A004
                     int, int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from ._engine import grad as _grad  # noqa: F401
from ._function import Function  # noqa: F401
from ._grad_mode import (detect_anomaly, enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                         no_grad, set_detect_anomaly, set_grad_enabled)
from ._tensor import Size, Tensor, is_tensor  # noqa: F401
from .ops._arith import add, div, mul, neg, pow, rsub, sub  # noqa: F401,A004
from .ops._index import gather, index_select, masked_fill, masked_select, scatter_add  # noqa: F401
from .ops._linalg import addmm, bmm, dot, einsum, ger, matmul, mm, mv, outer  # noqa: F401
from .ops._reduce import (all, amax, amin, any, argmax, argmin, argsort, cumsum, logsumexp,  # noqa: F401,A004
                          log_softmax, max, mean, min, norm, prod, softmax, sort, std, std_mean,
                          sum, topk, var, var_mean)
from .ops._shape import (broadcast_to, cat, chunk, concat, concatenate, flatten, flip, fliplr,  # noqa: F401
                         flipud, hstack, movedim, narrow, pad, permute, repeat, reshape, roll,
                         rot90, split, squeeze, stack, t, tensor_split, tile, transpose, unbind,
                         unflatten, unsqueeze, vstack)
from .ops._unary import (abs, allclose, ceil, clamp, cos, deg2rad, eq, equal, erf, exp, exp2,  # noqa: F401,A004
                         expm1, floor, ge, gelu, gt, isfinite, isinf, isnan, le, leaky_relu, log,
                         log1p, log2, log10, logical_and, logical_not, logical_or, logical_xor, lt,
                         maximum, minimum, ne, rad2deg, reciprocal, relu, round, rsqrt, sigmoid,
                         sign, sin, sqrt, square, tan, tanh, trunc, where)
from .ops._exports import *  # noqa: F401,F403,E402  (trig, scans, scatter, bitwise, diag...)
from . import autograd  # noqa: E402,F401  (torch.autograd namespace)
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401

clip = clamp
negative = neg
multiply = mul
divide = div
subtract = sub
absolute = abs
clone = Tensor.clone
detach = Tensor.detach
numel = Tensor.numel
expand = Tensor.expand
swapaxes = swapdims = transpose


class _LegacyTensorType(type):
    """``torch.FloatTensor([...])`` builds a tensor of that dtype; isinstance checks the dtype."""

    def __call__(cls, *args, **kwargs):
        return Tensor(*args, dtype=cls.dtype, **kwargs)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


FloatTensor = _LegacyTensorType("FloatTensor", (), {"dtype": float32})
DoubleTensor = _LegacyTensorType("DoubleTensor", (), {"dtype": float64})
LongTensor = _LegacyTensorType("LongTensor", (), {"dtype": int64})
BoolTensor = _LegacyTensorType("BoolTensor", (), {"dtype": bool})
__version__ = "0.1.0"


def is_floating_point(x: Tensor) -> bool:
    return x.is_floating_point()


def sigmoid_(x):
    return x.sigmoid_()


from ._device import (channels_last, channels_last_3d, contiguous_format, device,  # noqa: E402,F401
                      memory_format, preserve_format)
from . import accelerator, amp, backends, cuda, distributed  # noqa: E402,F401
from .amp import autocast  # noqa: E402,F401


class _UnsupportedDtype:
    """A dtype name PyTorch has and numpy lacks: naming it works, computing with it raises."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name} (unsupported: numpy has no {self.name}; use torch.float32)"


bfloat16 = _UnsupportedDtype("bfloat16")
_MATMUL_PRECISION = ["highest"]
_DETERMINISTIC = [False]


def set_float32_matmul_precision(precision: str) -> None:
    """Accepted for PyTorch scripts; numpy's float32 matmul is always full precision."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid float32 matmul precision {precision!r}: expected highest, high or medium")
    _MATMUL_PRECISION[0] = precision


def get_float32_matmul_precision() -> str:
    return _MATMUL_PRECISION[0]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: every kernel here is deterministic already (fixed work split, ordered sums)."""
    _DETERMINISTIC[0] = True if mode else False  # (``bool`` is the dtype here)


def are_deterministic_algorithms_enabled() -> bool:
    return _DETERMINISTIC[0]


def is_autocast_enabled(device_type: str | None = None) -> bool:
    return False


def set_num_threads(n: int) -> None:
    """Threads the convolution, pooling and normalisation kernels use (default: the CPUs this
    process may run on, at most 8).

    Results do not depend on it: work is split into parts fixed by the problem
    size, and partial sums are added in part order. numpy's own BLAS threads
    are set by environment variables (``OPENBLAS_NUM_THREADS``); the kernels
    pin BLAS to one thread while they run.
    """
    from .nn.functional import _im2col

    _im2col.set_threads(n)


def get_num_threads() -> int:
    """Threads the convolution, pooling and normalisation kernels use (see ``set_num_threads``)."""
    from .nn.functional import _im2col

    return _im2col._NT
from . import utils  # noqa: E402,F401
from . import optim  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401
from . import nn  # noqa: E402,F401
