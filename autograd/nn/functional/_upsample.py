"""Resampling: ``interpolate`` / ``upsample`` (nearest, linear family, bicubic, area).

Every mode here is separable: along one spatial axis, output row ``o`` is a
short weighted sum of input rows, ``y[o] = sum_t w[o, t] * x[idx[o, t]]``
(1 tap for nearest, 2 for linear, 4 for bicubic, a window for area). That
banded map is one node (gathers along the axis); its adjoint is the same kind
of node with the transposed band (again gathers: no scatter-add, no
``np.add.at``), so gradients of any order work.

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> x = torch.tensor([[[1.0, 3.0]]])
>>> F.interpolate(x, scale_factor=2, mode="linear").flatten().tolist()
[1.0, 1.5, 2.5, 3.0]
"""
from __future__ import annotations

import math

import numpy as np

from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]


def _wcol(w, axis, ndim):
    shape = [1] * ndim
    shape[axis] = w.shape[0]
    return w.reshape(shape)


def _merged(o, i, w, n_in):
    """Nonzeros of a sparse map as (sorted keys o * n_in + i, summed weights)."""
    key, inv = np.unique(o * n_in + i, return_inverse=True)
    wsum = np.bincount(inv.ravel(), w)
    keep = np.abs(wsum) > 1e-12
    return key[keep], wsum[keep]


class Band:
    """A banded linear map along one axis: ``y[o] = sum_t w[o, t] * x[idx[o, t]]``.

    ``w`` None means all ones (nearest). ``T`` is the transposed map in the same
    form, so the adjoint is again a gather, never a scatter-add. Maps that are
    periodic (integer up/down-sampling: output phase ``p`` of every ``R`` reads
    source ``S * j + c`` with fixed weights, clamped at the borders) run as a few
    strided slice multiply-adds instead of gathers.
    """

    def __init__(self, idx, w, n_in):
        self.idx, self.w, self.n_in, self.n_out = idx, w, n_in, idx.shape[0]
        self._T = None
        self.plan = self._periodic()

    def entries(self):
        o = np.repeat(np.arange(self.n_out), self.idx.shape[1])
        w = np.ones(o.size) if self.w is None else self.w.ravel().astype(np.float64)
        return _merged(o, self.idx.ravel(), w, self.n_in)

    def _periodic(self):
        g = math.gcd(self.n_out, self.n_in)
        R, S = self.n_out // g, self.n_in // g
        if R > 8 or S > 8 or self.n_out < 2 * R:
            return None
        phases, os_, is_, ws = [], [], [], []
        for p in range(R):
            J = (self.n_out - p + R - 1) // R
            jm = (J - 1) // 2
            o = p + R * jm
            taps = [(int(self.idx[o, t]) - S * jm, 1.0 if self.w is None else float(self.w[o, t]))
                    for t in range(self.idx.shape[1]) if self.w is None or self.w[o, t] != 0]
            phases.append((J, taps))
            j = np.arange(J)
            for c, wt in taps:
                os_.append(p + R * j)
                is_.append(np.clip(S * j + c, 0, self.n_in - 1))
                ws.append(np.full(J, wt))
        if not os_:
            return None
        key, wsum = _merged(np.concatenate(os_), np.concatenate(is_), np.concatenate(ws), self.n_in)
        ref_key, ref_w = self.entries()
        if key.shape != ref_key.shape or (key != ref_key).any() or not np.allclose(wsum, ref_w, atol=1e-9):
            return None
        lo = min(c for _, taps in phases for c, _ in taps)
        hi = max(S * (J - 1) + c for J, taps in phases for c, _ in taps)
        return R, S, phases, max(0, -lo), max(0, hi - (self.n_in - 1))

    def apply(self, x, axis):
        if self.plan is not None:
            return self._apply_periodic(x, axis)
        out = None
        for t in range(self.idx.shape[1]):
            v = np.take(x, self.idx[:, t], axis=axis)
            if self.w is not None:
                v *= _wcol(self.w[:, t].astype(x.dtype, copy=False), axis, x.ndim)
            out = v if out is None else np.add(out, v, out=out)
        return out

    def _apply_periodic(self, x, axis):
        R, S, phases, pl, pr = self.plan
        pre = (slice(None),) * axis
        if pl or pr:  # clamped borders = edge padding
            n = x.shape[axis]
            x = np.concatenate([np.repeat(x[pre + (slice(0, 1),)], pl, axis), x,
                                np.repeat(x[pre + (slice(n - 1, n),)], pr, axis)], axis)
        shape = list(x.shape)
        shape[axis] = self.n_out
        out = np.empty(shape, dtype=x.dtype)
        for p, (J, taps) in enumerate(phases):
            dst = out[pre + (slice(p, None, R),)]
            tmp = None
            for k, (c, wt) in enumerate(taps):
                src = x[pre + (slice(pl + c, pl + c + S * (J - 1) + 1, S),)]
                if k == 0:
                    np.multiply(src, wt, out=dst) if wt != 1 else np.copyto(dst, src)
                else:
                    tmp = np.multiply(src, wt, out=tmp)
                    dst += tmp
            if not taps:
                dst[...] = 0
        return out

    @property
    def T(self) -> "Band":
        if self._T is None:
            key, wsum = self.entries()
            dst, src = key // self.n_in, key % self.n_in
            order = np.lexsort((dst, src))
            dst, src, wsum = dst[order], src[order], wsum[order]
            counts = np.bincount(src, minlength=self.n_in)
            width = max(1, int(counts.max()))
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            slot = np.arange(src.size) - start[src]
            idx = np.zeros((self.n_in, width), dtype=np.int64)
            wt = np.zeros((self.n_in, width))
            idx[src, slot], wt[src, slot] = dst, wsum
            self._T = Band(idx, None if width == 1 and (wt == 1).all() else wt, self.n_out)
            self._T._T = self
        return self._T

    def is_identity(self) -> bool:
        return (self.n_out == self.n_in and self.idx.shape[1] == 1
                and (self.idx[:, 0] == np.arange(self.n_in)).all()
                and (self.w is None or (self.w == 1).all()))


class AxisMapBackward0(Node):
    """Banded linear map along one axis (interpolation, adaptive average); backward: its transpose."""

    def forward(self, x, axis, band):
        self.axis, self.band = axis, band
        return band.apply(x, axis)

    def backward(self, g):
        return apply(AxisMapBackward0, (g,), self.axis, self.band.T)


def apply_axis_map(x: Tensor, axis: int, idx, w) -> Tensor:
    band = Band(idx, w, x._data.shape[axis])
    if band.is_identity():
        return x
    return apply(AxisMapBackward0, (x,), axis, band)


# -- taps per mode -------------------------------------------------------------------
def _scale(n_in, n_out, align_corners, scale, dt):
    if align_corners:
        return dt((n_in - 1) / (n_out - 1)) if n_out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def taps(mode, n_in, n_out, scale, align_corners, dtype):
    """(idx (O, T), weights (O, T) or None) for one axis, with PyTorch's index rules."""
    o = np.arange(n_out)
    if mode == "nearest":
        if n_out == n_in:
            src = o
        elif n_out == 2 * n_in:
            src = o >> 1
        else:
            s = _scale(n_in, n_out, False, scale, np.float32)
            src = np.minimum(np.floor(o.astype(np.float32) * s).astype(np.int64), n_in - 1)
        return src[:, None].astype(np.int64), None
    if mode == "nearest-exact":
        s = float(_scale(n_in, n_out, False, scale, np.float32))
        return np.minimum(np.floor((o + 0.5) * s).astype(np.int64), n_in - 1)[:, None], None
    dt = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    s = _scale(n_in, n_out, align_corners, scale, dt)
    od = o.astype(dt)
    if mode == "linear":
        src = s * od if align_corners else np.maximum(s * (od + dt(0.5)) - dt(0.5), dt(0))
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        lam = np.clip(src - i0, 0, 1)
        i1 = i0 + (i0 < n_in - 1)
        return np.stack([i0, i1], 1), np.stack([1 - lam, lam], 1)
    if mode == "cubic":
        src = s * od if align_corners else s * (od + dt(0.5)) - dt(0.5)
        fl = np.floor(src)
        t = src - fl
        A = -0.75

        def c1(v):
            return ((A + 2) * v - (A + 3)) * v * v + 1

        def c2(v):
            return ((A * v - 5 * A) * v + 8 * A) * v - 4 * A
        idx = np.clip(fl.astype(np.int64)[:, None] + np.arange(-1, 3), 0, n_in - 1)
        return idx, np.stack([c2(t + 1), c1(t), c1(1 - t), c2(2 - t)], 1)
    if mode == "area":
        start = (o * n_in) // n_out
        end = -((-(o + 1) * n_in) // n_out)
        T = int((end - start).max())
        tt = np.arange(T)
        idx = np.minimum(start[:, None] + tt, (end - 1)[:, None])
        w = np.where(tt < (end - start)[:, None], 1.0 / (end - start)[:, None], 0.0)
        return idx, w
    raise NotImplementedError(mode)


def resample(x: Tensor, sizes, scales, mode, align_corners) -> Tensor:
    """Apply the per-axis maps for spatial sizes ``sizes`` (axes 2..)."""
    nd = len(sizes)
    # shrink first; among equal ratios the last axis (strided slices) while the data is small
    order = sorted(range(nd), key=lambda i: (sizes[i] / x._data.shape[2 + i], -i))
    for i in order:
        n_in = x._data.shape[2 + i]
        idx, w = taps(mode, n_in, sizes[i], scales[i] if scales else None, align_corners,
                      x._data.dtype)
        x = apply_axis_map(x, 2 + i, idx, w)
    return x


_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) ``input`` to ``size`` or by ``scale_factor``.

    Modes: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' / 'bicubic' (4-D),
    'trilinear' (5-D), 'area' (adaptive average). ``align_corners`` (linear modes only)
    maps corner pixel centres onto each other.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): expected a Tensor, got {type(input).__name__}")
    nd = input._data.ndim - 2
    if nd < 1 or nd > 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input._data.ndim}D) for the modes: nearest | linear | bilinear "
                                  f"| bicubic | trilinear | area | nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif mode in _LINEAR:
        if _LINEAR[mode] != nd:
            raise NotImplementedError(f"Got {input._data.ndim}D input, but {mode} mode needs "
                                      f"{_LINEAR[mode] + 2}D input")
    else:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input._data.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact (got {mode})")
    if antialias:
        raise NotImplementedError("antialias=True is not supported")
    align_corners = bool(align_corners)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = input._data.shape[2:]
    scales = None
    if size is not None:
        sizes = tuple(int(s) for s in size) if isinstance(size, (list, tuple)) else (int(size),) * nd
        if len(sizes) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {list(spatial)} and output size of "
                             f"{list(sizes)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                             "format and output size in (o1, o2, ...,oK) format.")
    elif scale_factor is not None:
        sf = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else (float(scale_factor),) * nd
        if len(sf) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {list(spatial)} and "
                             f"scale_factor of shape {list(sf)}.")
        sizes = tuple(int(math.floor(float(n) * f)) for n, f in zip(spatial, sf))
        scales = None if recompute_scale_factor else sf
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(s <= 0 for s in sizes):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"{list(spatial)} and output {list(sizes)}")
    if mode == "area":
        from ._adaptive_pool import _adaptive_avg
        return _adaptive_avg(input, sizes)
    kind = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    if kind in ("linear", "cubic") and input._data.dtype.kind in "iu":
        # integer images (uint8): weights in float32, then rounded back (as PyTorch)
        out = resample(Tensor._make(input._data.astype(np.float32)), sizes, scales, kind,
                       align_corners)._data
        info = np.iinfo(input._data.dtype)
        return Tensor._make(np.clip(np.round(out), info.min, info.max).astype(input._data.dtype))
    return resample(input, sizes, scales, kind, align_corners)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Alias of ``interpolate`` (deprecated in PyTorch, kept for old code)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
