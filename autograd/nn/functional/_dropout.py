"""Dropout variants of ``nn.functional`` (random masks from the global generator)."""
from __future__ import annotations

import warnings

import numpy as np

from ..._creation import _rng
from ..._tensor import Tensor
from ..._tensor_methods import _inplace

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

_make = Tensor._make


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p: float, dtype) -> np.ndarray:
    """Bernoulli(1 - p) mask scaled by 1 / (1 - p), in ``dtype``."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = _rng(None).random(shape, dtype=np.float32 if dtype != np.float64 else np.float64) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _apply_mask(x: Tensor, mask: np.ndarray, inplace: bool) -> Tensor:
    m = _make(mask)
    if inplace:
        return _inplace(x, lambda a: a * m)
    return x * m


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, _keep_mask(input.shape, p, input.dtype), inplace)


def _feature_dropout(x: Tensor, p: float, training: bool, inplace: bool, batched_ndim: int,
                     name: str) -> Tensor:
    """Drop whole channels: the mask has shape (N, C, 1, ...) (or (C, 1, ...) unbatched)."""
    _check_p(p)
    nd = x.dim()
    if nd not in (batched_ndim, batched_ndim - 1):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {nd}D input.")
    if not training or p == 0.0:
        return x
    lead = 2 if nd == batched_ndim else 1
    shape = tuple(x.shape[:lead]) + (1,) * (nd - lead)
    return _apply_mask(x, _keep_mask(shape, p, x.dtype), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout for (N, C, L) or (C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def _deprecated_dim(name: str, nd: int, spatial: int) -> None:
    warnings.warn(f"{name}: Received a {nd}-D input to {name}, which is deprecated and will result in an "
                  f"error in a future release. To retain the behavior and silence this warning, please use "
                  f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
                  f"{spatial} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                  f"{spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def _masked(x: Tensor, p: float, training: bool, inplace: bool, shape) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return x
    return _apply_mask(x, _keep_mask(tuple(shape), p, x.dtype), inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout for (N, C, H, W) or (C, H, W) inputs.

    As PyTorch, a 3-D input is taken as (N, C, L) (1-D channel dropout) with a warning; other ranks
    warn and drop over the first two axes (a 2-D input is dropped elementwise).
    """
    nd = input.dim()
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
                      "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
                      "is the channel dim. This behavior will change in a future release to interpret "
                      "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
                      "the 1D channel-wise dropout behavior, please switch to using dropout1d "
                      "instead.", stacklevel=2)
        return _feature_dropout(input, p, training, inplace, 3, "dropout2d")
    if nd != 4:
        if nd < 2:
            raise RuntimeError(f"dropout2d: Expected 3D or 4D input, but received a {nd}D input.")
        _deprecated_dim("dropout2d", nd, 2)
        return _masked(input, p, training, inplace, tuple(input.shape[:2]) + (1,) * (nd - 2))
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W) inputs (other ranks: warning, first axis = channels)."""
    nd = input.dim()
    if nd not in (4, 5):
        if nd < 1:
            raise RuntimeError("dropout3d: Expected 4D or 5D input, but received a 0D input.")
        _deprecated_dim("dropout3d", nd, 3)
        return _masked(input, p, training, inplace, (input.shape[0],) + (1,) * (nd - 1))
    return _feature_dropout(input, p, training, inplace, 5, "dropout3d")


_SELU_ALPHA = 1.7580993408473766  # scale * alpha of SELU


def _alpha(x: Tensor, p: float, training: bool, inplace: bool, mask_shape) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (_rng(None).random(mask_shape) >= p).astype(x.dtype)
    a = 1.0 / np.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    scale = _make((keep * a).astype(x.dtype))
    shift = _make(((keep - 1) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p).astype(x.dtype))
    if inplace:
        return _inplace(x, lambda t: t * scale + shift)
    return x * scale + shift


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:  # noqa: A002
    """Dropout that keeps SELU's zero mean / unit variance (dropped units go to -alpha')."""
    return _alpha(input, p, training, inplace, input.shape)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,  # noqa: A002
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (mask of shape (N, C, 1, ...))."""
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha(input, p, training, inplace, shape)
