"""Gradient clipping (``nn.utils.clip_grad_norm_``) and flat parameter vectors."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale gradients in place so their joint norm is at most ``max_norm``; return the norm."""
    params = _grads(parameters)
    if not params:
        return Tensor._make(np.zeros((), dtype=np.float32))
    if norm_type == float("inf"):
        total = max(float(np.abs(p.grad._data).max()) for p in params)
    else:
        total = float(sum(float(np.sum(np.abs(p.grad._data.astype(np.float64)) ** norm_type))
                          for p in params) ** (1.0 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped.")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad._data *= p.grad._data.dtype.type(coef)
    return Tensor._make(np.asarray(total, dtype=params[0].grad._data.dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    for p in _grads(parameters):
        np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters) -> Tensor:
    from ...ops._shape import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    offset = 0
    for p in parameters:
        n = p._data.size
        p._data[...] = vec._data[offset:offset + n].reshape(p._data.shape)
        offset += n
