"""Activation functions of ``nn.functional`` (PyTorch signatures, ``inplace=`` accepted).

The elementwise primitives live in ``autograd.ops``; this module adds the
PyTorch call signatures, in-place variants and a few activations of its own
(a smooth softplus node, prelu, threshold, softsign, softmin, glu, shrinks).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor
from ..._tensor_methods import _inplace
from ...ops import _reduce as R
from ...ops import _unary as U
from ...ops._util import const

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "celu", "celu_",
           "selu", "selu_", "gelu", "silu", "mish", "prelu", "sigmoid", "tanh", "hardtanh",
           "hardtanh_", "hardsigmoid", "hardswish", "softplus", "softsign", "softmax", "log_softmax",
           "softmin", "threshold", "threshold_", "logsigmoid", "tanhshrink", "softshrink",
           "hardshrink", "glu", "rrelu"]


def _maybe_inplace(fn, x: Tensor, inplace: bool, *args) -> Tensor:
    if inplace:
        return _inplace(x, lambda a: fn(a, *args))
    return fn(x, *args)


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(0, x)."""
    return _maybe_inplace(U.relu, input, inplace)


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    return relu(input, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(U.leaky_relu, input, inplace, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    return leaky_relu(input, negative_slope, True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _maybe_inplace(U.elu, input, inplace, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return elu(input, alpha, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(U.celu, input, inplace, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return celu(input, alpha, True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """scale * elu(x, alpha) with the self-normalising constants."""
    return _maybe_inplace(U.selu, input, inplace)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    return selu(input, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x) (exact erf form, or ``approximate='tanh'``)."""
    return U.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x)."""
    return _maybe_inplace(U.silu, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * tanh(softplus(x))."""
    return _maybe_inplace(lambda a: a * U.tanh(softplus(a)), input, inplace)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return U.sigmoid(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return U.tanh(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(U.clamp, input, inplace, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:  # noqa: A002
    return hardtanh(input, min_val, max_val, True)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """relu6(x + 3) / 6."""
    return _maybe_inplace(U.hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * relu6(x + 3) / 6."""
    return _maybe_inplace(U.hardswish, input, inplace)


class SoftplusBackward0(Node):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold; smooth at every order."""
    save_inputs = (0,)

    def forward(self, x, beta, threshold):
        self.beta, self.threshold = beta, threshold
        bx = x * x.dtype.type(beta) if beta != 1 else x
        out = np.logaddexp(np.zeros((), dtype=x.dtype), bx)
        if beta != 1:
            out /= x.dtype.type(beta)
        return np.where(bx > threshold, x, out)

    def backward(self, g):
        (x,) = self.saved_tensors
        bx = x * self.beta if self.beta != 1 else x
        return U.where(bx._data > self.threshold, g, g * U.sigmoid(bx))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + exp(beta * x)) / beta, reverting to x where beta * x > threshold."""
    return apply(SoftplusBackward0, (input,), beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """x / (1 + |x|)."""
    return input / (U.abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    return input - U.tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 otherwise."""
    d = input._data
    return U.where(d > lambd, input - lambd, U.where(d < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x where |x| > lambd, 0 otherwise."""
    d = input._data
    return U.where((d > lambd) | (d < -lambd), input, 0.0)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > threshold, else ``value``."""
    return _maybe_inplace(lambda a: U.where(a._data > threshold, a, value), input, inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return globals()["threshold"](input, threshold, value, True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """max(0, x) + weight * min(0, x), ``weight`` per channel (dim 1) or a single value."""
    if weight.dim() != 1:
        raise RuntimeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    n = weight.shape[0]
    w = weight
    if input.dim() >= 2 and n > 1:
        if input.shape[1] != n:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {n} and channel size = {input.shape[1]}.")
        w = weight.reshape((1, n) + (1,) * (input.dim() - 2))
    elif n > 1 and input.dim() == 1 and input.shape[0] != n:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                           f"numbers = {n} and channel size = {input.shape[0]}.")
    elif n == 1:
        w = weight.reshape(())
    return U.where(input._data > 0, input, input * w)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU; in eval mode the slope is (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ..._creation import _rng
    slope = _rng(None).uniform(lower, upper, input.shape).astype(input.dtype)
    return _maybe_inplace(lambda a: U.where(a._data >= 0, a, a * const(slope)), input, inplace)


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) along ``dim``."""
    if dim is None:
        dim = _softmax_dim(input.dim(), "softmax")
    return R.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """x - logsumexp(x) along ``dim``."""
    if dim is None:
        dim = _softmax_dim(input.dim(), "log_softmax")
    return R.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """softmax(-x) along ``dim``."""
    if dim is None:
        dim = _softmax_dim(input.dim(), "softmin")
    if dtype is not None:
        input = input.to(dtype)
    return R.softmax(-input, dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a * sigmoid(b) with (a, b) the two halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} "
                           f"is size {input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * U.sigmoid(b)
