"""Pooling: max / avg / lp pooling (1-3 D).

Every window op is a loop over the k^d kernel offsets of strided views of the
(padded) input, never over output pixels. Max pooling records the offset of
the first maximum of each window (NaN wins, as PyTorch); its gradient is a
scatter node that sends each output gradient to that one element, whose own
backward is the matching gather.

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
>>> F.max_pool2d(x, 2).flatten().tolist()
[5.0, 7.0, 13.0, 15.0]
"""
from __future__ import annotations

import math

import numpy as np

from ... import _buffers
from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor
from ...ops._shape import squeeze, unsqueeze
from ._im2col import parallel

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices"]

_make = Tensor._make


def tup(v, nd: int) -> tuple:
    if isinstance(v, (list, tuple)):
        v = tuple(int(a) for a in v)
        return v * nd if len(v) == 1 else v
    return (int(v),) * nd


class PoolGeom:
    """Windows of a pooling op: output size (PyTorch's rule, ceil_mode included) and views."""

    def __init__(self, S, K, s, p, d, ceil_mode, name="pool"):
        nd = len(S)
        self.S, self.K, self.s, self.p, self.d = S, K, s, p, d
        O = []
        for i in range(nd):
            eff = d[i] * (K[i] - 1) + 1
            if K[i] < 1 or s[i] < 1 or d[i] < 1:
                raise RuntimeError(f"{name}: kernel_size, stride and dilation must be positive")
            if p[i] < 0 or p[i] > eff // 2:
                raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                                   f"pad={p[i]}, kernel_size={K[i]} and dilation={d[i]}")
            num = S[i] + 2 * p[i] - eff + (s[i] - 1 if ceil_mode else 0)
            o = num // s[i] + 1
            if ceil_mode and (o - 1) * s[i] >= S[i] + p[i]:
                o -= 1
            O.append(o)
        if any(o <= 0 for o in O):
            raise RuntimeError(f"Given input size: ({'x'.join(map(str, S))}). Calculated output size: "
                               f"({'x'.join(map(str, O))}). Output size is too small")
        self.O = tuple(O)
        self.pr = tuple((O[i] - 1) * s[i] + d[i] * (K[i] - 1) + 1 - S[i] - p[i] for i in range(nd))
        self.Sa = tuple(S[i] + p[i] + max(self.pr[i], 0) for i in range(nd))
        self.needs_pad = any(a != b for a, b in zip(self.Sa, S))
        self.kidx = list(np.ndindex(*K))
        self.kprod = len(self.kidx)
        self.disjoint = all(s[i] >= d[i] * (K[i] - 1) + 1 for i in range(nd))
        self.full = (self.disjoint and not self.needs_pad
                     and all(s[i] == K[i] and d[i] == 1 and O[i] * s[i] == S[i] for i in range(nd)))
        self.inner = tuple(slice(p[i], p[i] + S[i]) for i in range(nd))

    def window(self, xp, j):
        k = self.kidx[j]
        return xp[(Ellipsis,) + tuple(slice(k[i] * self.d[i], k[i] * self.d[i] + self.s[i] * (o - 1) + 1,
                                            self.s[i]) for i, o in enumerate(self.O))]

    def pad(self, x, value):
        if not self.needs_pad:
            return x
        xp = np.full(x.shape[:2] + self.Sa, value, dtype=x.dtype)
        xp[(slice(None), slice(None)) + self.inner] = x
        return xp

    def crop(self, xp):
        return np.ascontiguousarray(xp[(slice(None), slice(None)) + self.inner]) if self.needs_pad else xp


def by_channel(fn, shape, nbytes):
    """``fn(n_slice, c_slice)`` over (N, C) split across threads along the larger axis.

    Strided window passes run scalar loops, so two cores help here (unlike plain copies).
    """
    N, C = shape[:2]
    if C >= min(N, 4):
        parallel(lambda a, b: fn(slice(None), slice(a, b)), C, nbytes)
    else:
        parallel(lambda a, b: fn(slice(a, b), slice(None)), N, nbytes)


# -- max pooling ---------------------------------------------------------------
def _max_forward(x, g: PoolGeom):
    xp = g.pad(x, -np.inf)
    shape = x.shape[:2] + g.O
    out = _buffers.empty(shape, x.dtype)
    arg = np.empty(shape, dtype=np.uint8 if g.kprod <= 256 else np.int32)

    def run(ns, cs):
        ws = [g.window(xp, j)[ns, cs] for j in range(g.kprod)]
        o, a = out[ns, cs], arg[ns, cs]
        if len(ws) == 1:
            o[...], a[...] = ws[0], 0
            return
        upd = np.empty(o.shape, dtype=bool)
        np.greater(ws[1], ws[0], out=upd)
        np.maximum(ws[0], ws[1], out=o)
        np.copyto(a, upd)
        for j in range(2, len(ws)):
            np.greater(ws[j], o, out=upd)
            np.maximum(o, ws[j], out=o)
            # j exceeds every earlier index, so "a = j where upd" is a max (no masked copy)
            np.maximum(a, np.multiply(upd, j, dtype=a.dtype), out=a)
        nan = np.isnan(o)
        if nan.any():  # PyTorch: a NaN is the max; the last NaN of the window is its index
            for j, w in enumerate(ws):
                np.copyto(a, j, where=nan & np.isnan(w))
    by_channel(run, shape, xp.nbytes)
    return out, arg


class MaxPoolScatterBackward(Node):
    """Send each window's gradient to its arg-max element: (N, C, *O) -> (N, C, *S)."""
    fresh_grads = True

    def forward(self, gy, geom, arg):
        self.geom, self.arg = geom, arg
        g = geom
        shape = gy.shape[:2] + g.Sa
        gxp = _buffers.empty(shape, gy.dtype) if g.full else np.zeros(shape, dtype=gy.dtype)

        def run(ns, cs):
            a, gv = arg[ns, cs], gy[ns, cs]
            for j in range(g.kprod):
                w = g.window(gxp, j)[ns, cs]
                if g.disjoint:
                    np.multiply(gv, a == j, out=w)
                else:
                    w += np.where(a == j, gv, 0)
        by_channel(run, shape, gxp.nbytes)
        return g.crop(gxp)

    def backward(self, gg):
        return apply(MaxPoolGatherBackward, (gg,), self.geom, self.arg)


class MaxPoolGatherBackward(Node):
    """Pick each window's arg-max element: (N, C, *S) -> (N, C, *O)."""
    fresh_grads = True

    def forward(self, x, geom, arg):
        self.geom, self.arg = geom, arg
        xp = geom.pad(x, 0)
        out = np.empty(arg.shape, dtype=x.dtype)
        for j in range(geom.kprod):
            np.copyto(out, geom.window(xp, j), where=arg == j)
        return out

    def backward(self, g):
        return apply(MaxPoolScatterBackward, (g,), self.geom, self.arg)


class MaxPoolBackward0(Node):
    fresh_grads = True

    def forward(self, x, geom, result):
        self.geom, self.arg = geom, result[1]
        return result[0]

    def backward(self, g):
        return apply(MaxPoolScatterBackward, (g,), self.geom, self.arg)


def _flat_indices(g: PoolGeom, arg):
    """Flat index (into each input plane) of the chosen element, as PyTorch returns."""
    coords = np.array(g.kidx, dtype=np.int64)
    nd = len(g.S)
    idx = 0
    for i in range(nd):
        shape = [1] * nd
        shape[i] = g.O[i]
        base = (np.arange(g.O[i]) * g.s[i] - g.p[i]).reshape(shape)
        pos = base + coords[:, i][arg] * g.d[i]
        idx = idx * g.S[i] + pos
    return idx


def _batched(x: Tensor, nd: int, name: str):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x._data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, "
                           f"but got: {list(x.shape)}")
    return (unsqueeze(x, 0), True) if x._data.ndim == nd + 1 else (x, False)


def _max_poolnd(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    name = f"max_pool{nd}d"
    x, unb = _batched(input, nd, name)
    K = tup(kernel_size, nd)
    s = tup(stride, nd) if stride is not None and stride != [] and stride != () else K
    g = PoolGeom(tuple(x._data.shape[2:]), K, s, tup(padding, nd), tup(dilation, nd), ceil_mode, name)
    result = _max_forward(x._data, g)
    out = apply(MaxPoolBackward0, (x,), g, result)
    if unb:
        out = squeeze(out, 0)
    if not return_indices:
        return out
    idx = _make(_flat_indices(g, result[1]))
    return out, (squeeze(idx, 0) if unb else idx)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L)."""
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W); ``stride`` defaults to ``kernel_size``."""
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


# -- average pooling ---------------------------------------------------------------
def _divisor(g: PoolGeom, count_include_pad, divisor_override, dtype):
    """1 / divisor per output position (a scalar when constant)."""
    if divisor_override:
        return dtype.type(1.0 / divisor_override)
    nd = len(g.S)
    inv = np.ones((1,) * nd)
    const = True
    for i in range(nd):
        start = np.arange(g.O[i]) * g.s[i] - g.p[i]
        end = np.minimum(start + g.K[i], g.S[i] + g.p[i])
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, g.S[i]) - np.maximum(start, 0)
        const = const and bool((size == g.K[i]).all())
        shape = [1] * nd
        shape[i] = g.O[i]
        inv = inv * (1.0 / size).reshape(shape)
    return dtype.type(1.0 / math.prod(g.K)) if const else inv.astype(dtype)


class AvgPoolBackward0(Node):
    """Window sum times 1/divisor."""
    fresh_grads = True

    def forward(self, x, geom, inv):
        self.geom, self.inv = geom, inv
        xp = geom.pad(x, 0)
        shape = x.shape[:2] + geom.O
        out = np.empty(shape, dtype=x.dtype)

        def run(ns, cs):
            o = out[ns, cs]
            ws = [geom.window(xp, j)[ns, cs] for j in range(geom.kprod)]
            if len(ws) == 1:
                np.multiply(ws[0], inv, out=o)
                return
            np.add(ws[0], ws[1], out=o)
            for w in ws[2:]:
                o += w
            o *= inv
        by_channel(run, shape, xp.nbytes)
        return out

    def backward(self, g):
        return apply(AvgPoolScatterBackward, (g,), self.geom, self.inv)


class AvgPoolScatterBackward(Node):
    """Adjoint of the window mean: spread each value over its window."""
    fresh_grads = True

    def forward(self, gy, geom, inv):
        self.geom, self.inv = geom, inv
        shape = gy.shape[:2] + geom.Sa
        gxp = np.empty(shape, dtype=gy.dtype) if geom.full else np.zeros(shape, dtype=gy.dtype)

        def run(ns, cs):
            gs = gy[ns, cs] * inv
            for j in range(geom.kprod):
                w = geom.window(gxp, j)[ns, cs]
                if geom.full:
                    w[...] = gs
                else:
                    w += gs
        by_channel(run, shape, gxp.nbytes)
        return geom.crop(gxp)

    def backward(self, gg):
        return apply(AvgPoolBackward0, (gg,), self.geom, self.inv)


def _avg_poolnd(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    name = f"avg_pool{nd}d"
    x, unb = _batched(input, nd, name)
    K = tup(kernel_size, nd)
    s = tup(stride, nd) if stride is not None and stride != [] and stride != () else K
    p = tup(padding, nd)
    for i in range(nd):
        if p[i] > K[i] // 2:
            raise RuntimeError(f"pad should be at most half of kernel size, but got pad={p[i]} and "
                               f"kernel_size={K[i]}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    g = PoolGeom(tuple(x._data.shape[2:]), K, s, p, (1,) * nd, ceil_mode, name)
    inv = _divisor(g, count_include_pad, divisor_override, x._data.dtype)
    out = apply(AvgPoolBackward0, (x,), g, inv)
    return squeeze(out, 0) if unb else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L)."""
    return _avg_poolnd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling; ``count_include_pad`` counts zero padding in the divisor."""
    return _avg_poolnd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling."""
    return _avg_poolnd(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def _lp_poolnd(nd, input, norm_type, kernel_size, stride, ceil_mode):
    from ...ops._unary import abs as _abs, relu, sign
    K = tup(kernel_size, nd)
    out = _avg_poolnd(nd, input ** norm_type, K, stride, 0, ceil_mode, True, None)
    return (sign(out) * relu(_abs(out)) * float(math.prod(K))) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: (sum over window of x**p) ** (1/p)."""
    return _lp_poolnd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling: (sum over window of x**p) ** (1/p)."""
    return _lp_poolnd(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling."""
    return _lp_poolnd(3, input, norm_type, kernel_size, stride, ceil_mode)
