"""Bitwise ops on integer and bool tensors (``& | ^ ~ << >>``); not differentiable.

On bool tensors they are the logical ops; on integers they act on the bits (PyTorch);
floating tensors are refused, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._util import as_tensor_like, broadcast_error, result_type

_make = Tensor._make

_TORCH_NAMES = {"f": {2: "Half", 4: "Float", 8: "Double"}}


class BitwiseTypeError(NotImplementedError, TypeError):
    """Bitwise op on a floating tensor (PyTorch raises NotImplementedError, or TypeError for ~)."""


def _check(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "iub":
        tname = _TORCH_NAMES.get(arr.dtype.kind, {}).get(arr.dtype.itemsize, str(arr.dtype))
        raise BitwiseTypeError(f"\"{name}_cpu\" not implemented for '{tname}'")


def _binary(name, ufunc):
    def op(a, b) -> Tensor:
        if not isinstance(a, Tensor):
            a = as_tensor_like(a, b)
        b = as_tensor_like(b, a)
        ad, bd = a._data, b._data
        _check(ad, name)
        _check(bd, name)
        rt = result_type(ad, bd)
        try:
            out = ufunc(ad, bd)
        except ValueError:
            raise broadcast_error(ad, bd) from None
        if rt is not None and out.dtype != rt:
            out = out.astype(rt)
        return _make(out)
    op.__name__ = name
    return op


bitwise_and = _binary("bitwise_and", np.bitwise_and)
bitwise_or = _binary("bitwise_or", np.bitwise_or)
bitwise_xor = _binary("bitwise_xor", np.bitwise_xor)
bitwise_left_shift = _binary("lshift", np.left_shift)
bitwise_right_shift = _binary("rshift", np.right_shift)


def bitwise_not(x: Tensor) -> Tensor:
    _check(x._data, "bitwise_not")
    return _make(np.invert(x._data))


def _reflected(fn):
    return lambda self, other: fn(other, self)


METHODS = {
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not, "bitwise_left_shift": bitwise_left_shift,
    "bitwise_right_shift": bitwise_right_shift,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
    "__invert__": bitwise_not, "__lshift__": bitwise_left_shift,
    "__rshift__": bitwise_right_shift,
    "__rand__": _reflected(bitwise_and), "__ror__": _reflected(bitwise_or),
    "__rxor__": _reflected(bitwise_xor), "__rlshift__": _reflected(bitwise_left_shift),
    "__rrshift__": _reflected(bitwise_right_shift),
}
