"""``nn.Parameter``: a leaf tensor that a Module registers as trainable."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter (``requires_grad=True`` by default).

    Shares memory with ``data`` when given a Tensor or an array.
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = np.asarray(data)
            if arr.dtype == np.float64 and not isinstance(data, np.ndarray):
                arr = arr.astype(np.float32)
        self._init(arr, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self._data.copy(), self._requires_grad)
        memo[id(self)] = p
        return p


class UninitializedParameter(Parameter):
    """Placeholder of a lazy module until its first call infers the shape."""

    def materialize(self, shape, dtype=np.float32) -> None:
        self._data = np.empty(tuple(shape), dtype=dtype)
        self.__class__ = Parameter


class Buffer(Tensor):
    """Marker type accepted by ``Module.__setattr__`` to register a buffer."""

    def __init__(self, data, persistent: bool = True):
        self._init(data._data if isinstance(data, Tensor) else np.asarray(data))
        self.persistent = persistent
