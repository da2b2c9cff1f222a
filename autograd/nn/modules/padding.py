"""Padding layers: reflection, replication, circular, zero and constant (1-3 D).

``padding`` is an int (all sides) or a tuple (left, right, top, bottom, front,
back) as in ``F.pad``. Reflection/replication/circular backward adds the border
gradients back onto the source elements.

Examples
--------
>>> import autograd as torch
>>> torch.nn.ReflectionPad1d(2)(torch.arange(4.0).reshape(1, 1, 4)).flatten().tolist()
[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0]
"""
from __future__ import annotations

from ...ops._shape import pad as _pad
from .module import Module

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
           "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d"]


def _pads(padding, nd):
    if isinstance(padding, (list, tuple)):
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * nd:
            raise ValueError(f"expected padding of length {2 * nd} (or an int), got {len(padding)}")
        return padding
    return (int(padding),) * (2 * nd)


class _PadNd(Module):
    _nd = 2
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _pads(padding, self._nd)

    def _check(self, input):
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"{type(self).__name__}: expected {nd + 1}D or {nd + 2}D input "
                             f"(got {input.dim()}D input)")

    def forward(self, input):
        self._check(input)
        return _pad(input, self.padding, mode=self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        self._check(input)
        return _pad(input, self.padding, mode="constant", value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


def _make(name, base, nd, mode=None, doc=""):
    attrs = {"_nd": nd, "__doc__": doc, "__module__": __name__}
    if mode:
        attrs["_mode"] = mode
    return type(name, (base,), attrs)


ReflectionPad1d = _make("ReflectionPad1d", _PadNd, 1, "reflect", "Pad by reflecting at the border (1-D).")
ReflectionPad2d = _make("ReflectionPad2d", _PadNd, 2, "reflect", "Pad by reflecting at the border (2-D).")
ReflectionPad3d = _make("ReflectionPad3d", _PadNd, 3, "reflect", "Pad by reflecting at the border (3-D).")
ReplicationPad1d = _make("ReplicationPad1d", _PadNd, 1, "replicate", "Pad by repeating the edge (1-D).")
ReplicationPad2d = _make("ReplicationPad2d", _PadNd, 2, "replicate", "Pad by repeating the edge (2-D).")
ReplicationPad3d = _make("ReplicationPad3d", _PadNd, 3, "replicate", "Pad by repeating the edge (3-D).")
CircularPad1d = _make("CircularPad1d", _PadNd, 1, "circular", "Pad by wrapping around (1-D).")
CircularPad2d = _make("CircularPad2d", _PadNd, 2, "circular", "Pad by wrapping around (2-D).")
CircularPad3d = _make("CircularPad3d", _PadNd, 3, "circular", "Pad by wrapping around (3-D).")
ConstantPad1d = _make("ConstantPad1d", _ConstantPadNd, 1, doc="Pad with a constant value (1-D).")
ConstantPad2d = _make("ConstantPad2d", _ConstantPadNd, 2, doc="Pad with a constant value (2-D).")
ConstantPad3d = _make("ConstantPad3d", _ConstantPadNd, 3, doc="Pad with a constant value (3-D).")


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


ZeroPad1d = _make("ZeroPad1d", _ZeroPadNd, 1, doc="Pad with zeros (1-D).")
ZeroPad2d = _make("ZeroPad2d", _ZeroPadNd, 2, doc="Pad with zeros (2-D).")
ZeroPad3d = _make("ZeroPad3d", _ZeroPadNd, 3, doc="Pad with zeros (3-D).")
