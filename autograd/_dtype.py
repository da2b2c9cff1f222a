"""Dtypes: numpy dtypes under PyTorch's names, and PyTorch's promotion rules."""
from __future__ import annotations

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001 - PyTorch's name

_default_float = [float32]


def get_default_dtype() -> np.dtype:
    """The dtype of floating tensors made from Python floats (float32)."""
    return _default_float[0]


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {dtype}")
    _default_float[0] = dtype


def is_floating_point(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def infer_dtype(value) -> np.dtype:
    """Dtype PyTorch gives ``tensor(value)`` for Python data."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and not isinstance(value, np.ndarray):
        return get_default_dtype()
    if arr.dtype.kind in "iu" and not isinstance(value, np.ndarray):
        return int64
    if arr.dtype.kind == "O":
        raise TypeError(f"could not infer a dtype from {type(value).__name__}")
    return arr.dtype


def scalar_for(scalar, dtype: np.dtype):
    """Cast a Python scalar so that ``tensor op scalar`` keeps the tensor's dtype.

    PyTorch: float tensor (op) Python number -> the tensor's dtype; integer
    tensor (op) Python float -> the default float dtype.
    """
    if isinstance(scalar, (np.ndarray, np.generic)) and np.ndim(scalar) > 0:
        return scalar
    kind = dtype.kind
    if kind == "f":
        return dtype.type(scalar)
    if kind == "b":
        if isinstance(scalar, (builtins_bool, np.bool_)):
            return np.bool_(scalar)
        if isinstance(scalar, (builtins_float, np.floating)):
            return get_default_dtype().type(scalar)
        return np.int64(scalar)
    if isinstance(scalar, (builtins_float, np.floating)):
        return get_default_dtype().type(scalar)
    return dtype.type(scalar)


import builtins as _builtins  # noqa: E402

builtins_bool = _builtins.bool
builtins_float = _builtins.float
