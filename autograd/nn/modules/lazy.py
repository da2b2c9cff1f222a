"""Lazy normalisation layers: ``num_features`` is inferred from the first input.

The parameters and buffers exist from construction (size 0) and are resized in
place on the first call, so an optimizer built before that call still holds the
right objects. After the first call the module becomes its plain class
(``LazyBatchNorm2d`` -> ``BatchNorm2d``), as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .module import Module
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                            InstanceNorm3d)

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class _LazyNormMixin:
    cls_to_become: type = None
    _channel_axis_unbatched: int | None = None  # ndim of an unbatched input (channels first), if allowed

    def has_uninitialized_params(self) -> bool:
        return self.num_features == 0

    def initialize_parameters(self, input) -> None:  # noqa: A002
        if not self.has_uninitialized_params():
            return
        if input.dim() < 2:
            raise ValueError(f"{type(self).__name__}: expected an input with a channel axis, got shape "
                             f"{list(input.shape)}")
        unbatched = self._channel_axis_unbatched is not None and input.dim() == self._channel_axis_unbatched
        c = int(input.shape[0 if unbatched else 1])
        self.num_features = c
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(self, name)
            if t is not None:
                t._data = np.zeros(c, dtype=t._data.dtype)
        self.reset_parameters()
        self.__class__ = self.cls_to_become

    def __call__(self, *args, **kwargs):
        if self.has_uninitialized_params():
            self.initialize_parameters(args[0])
        return Module.__call__(self, *args, **kwargs)


def _lazy(base, name: str, unbatched_ndim):
    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool | None = None,
                 track_running_stats: bool | None = None, device=None, dtype=None):
        kw = {}
        if affine is not None:
            kw["affine"] = affine
        if track_running_stats is not None:
            kw["track_running_stats"] = track_running_stats
        base.__init__(self, 0, eps=eps, momentum=momentum, dtype=dtype, **kw)

    doc = f"``{base.__name__}`` with ``num_features`` inferred from the first input (PyTorch's ``{name}``)."
    return type(name, (_LazyNormMixin, base), {"__init__": __init__, "cls_to_become": base, "__doc__": doc,
                                                "_channel_axis_unbatched": unbatched_ndim})


LazyBatchNorm1d = _lazy(BatchNorm1d, "LazyBatchNorm1d", None)
LazyBatchNorm2d = _lazy(BatchNorm2d, "LazyBatchNorm2d", None)
LazyBatchNorm3d = _lazy(BatchNorm3d, "LazyBatchNorm3d", None)
LazyInstanceNorm1d = _lazy(InstanceNorm1d, "LazyInstanceNorm1d", 2)
LazyInstanceNorm2d = _lazy(InstanceNorm2d, "LazyInstanceNorm2d", 3)
LazyInstanceNorm3d = _lazy(InstanceNorm3d, "LazyInstanceNorm3d", 4)
