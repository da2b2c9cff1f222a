"""Powers: tensor ** tensor, tensor ** scalar, scalar ** tensor (integer powers as PyTorch)."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._node import Node
from ._arith import _binary, sum_to
from ._unary import log, where
from ._util import const, quiet


def _power(a, b):
    """np.power, but integer ** negative integer gives PyTorch's truncated result, not an error."""
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        if a.dtype == np.bool_ and b.dtype == np.bool_:
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        if (b < 0).any():
            rt = np.result_type(a, b)
            a2, b2 = np.broadcast_arrays(a.astype(rt), b.astype(rt))
            pos = np.power(a2, np.where(b2 < 0, 0, b2))
            frac = np.where(np.abs(a2) == 1, np.power(a2, np.abs(b2) % 2), 0)
            return np.where(b2 < 0, frac, pos).astype(rt)
    return np.power(a, b)


class PowBackward1(Node):
    """Tensor ** Tensor."""
    save_inputs = (0, 1)
    saves_output = True

    @quiet
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return _binary(_power, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        nf = self.next_functions
        ga = None
        if nf[0][0] is not None:
            ga = g * b * a ** (b - 1)
            if (b._data == 0).any():  # d/da a**0 = 0, also at a == 0 (0 * 0**-1 would be nan)
                ga = where(const(np.broadcast_to(b._data == 0, ga._data.shape)), 0.0, ga)
            ga = sum_to(ga, self.sa)
        gb = None
        if nf[1][0] is not None:
            safe = where(const(a._data > 0), a, 1.0)  # d/db a**b = a**b log a; 0 where a == 0
            gb = sum_to(g * self.output() * log(safe), self.sb)
        return ga, gb


class PowScalarBackward(Node):
    save_inputs = (0,)

    @quiet
    def forward(self, a, c):
        self.c = c
        if c == 2:
            return a * a
        return np.power(a, c)

    def backward(self, g):
        (a,) = self.saved_tensors
        c = self.c
        if c == 0:
            return g * 0
        if c == 1:
            return g
        if c == 2:
            return g * a * 2
        return g * (a ** (c - 1)) * c


class RPowScalarBackward(Node):
    saves_output = True
    save_inputs = (0,)

    @quiet
    def forward(self, a, c):
        self.c = c
        self.logc = float(np.log(c)) if c > 0 else float("nan")
        if a.dtype.kind in "iub":
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                a = a.astype(np.int64) if a.dtype.kind == "b" else a
                base = a.dtype.type(c)
                if (a < 0).any():  # integer c ** negative k: 1 / c**k truncated (PyTorch)
                    frac = np.power(base, np.abs(a) % 2) if abs(c) == 1 else np.zeros_like(a)
                    pos = np.power(base, np.where(a < 0, 0, a))
                    return np.where(a < 0, frac, pos).astype(a.dtype)
                return np.power(base, a)  # 2 ** int32 tensor: int32 (PyTorch)
            a = a.astype(_dtype.get_default_dtype())
        return np.power(a.dtype.type(c), a)

    def backward(self, g):
        if self.logc != self.logc:  # base <= 0: log undefined; 0 ** y has gradient 0 for y >= 0
            (y,) = self.saved_tensors
            if self.c == 0:  # a constant factor: no nan from 0 * inf in double backward
                return g * const(np.where(y._data >= 0, 0.0, -np.inf).astype(g._data.dtype))
        return g * self.output() * self.logc
