"""Adaptive pooling (output size given, windows computed) and max-unpooling.

Adaptive average pooling is separable: per axis, a banded averaging map (the
``area`` taps of ``_upsample``). Adaptive max pooling with divisible sizes is
a plain max pool; otherwise windows are gathered (clamped to a common size),
reduced with a first-max argmax and differentiated through a flat-index
gather whose adjoint is a scatter-add.

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> tuple(F.adaptive_avg_pool2d(torch.randn(2, 3, 7, 9), (2, 4)).shape)
(2, 3, 2, 4)
"""
from __future__ import annotations

import math

import numpy as np

from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor
from ...ops._reduce import mean
from ...ops._shape import reshape, squeeze
from ._pool import _avg_poolnd, _batched, _max_poolnd
from ._upsample import resample

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "max_unpool1d",
           "max_unpool2d", "max_unpool3d"]

_make = Tensor._make


def _out_size(output_size, spatial):
    nd = len(spatial)
    if isinstance(output_size, (list, tuple)):
        sizes = tuple(output_size)
        if len(sizes) == 1:
            sizes = sizes * nd
    else:
        sizes = (output_size,) * nd
    if len(sizes) != nd:
        raise ValueError(f"output_size must have {nd} elements, got {list(sizes)}")
    sizes = tuple(spatial[i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"adaptive pooling: elements of output_size must be >= 0, got {list(sizes)}")
    return sizes


def _adaptive_avg(x: Tensor, sizes) -> Tensor:
    """Adaptive average pooling of batched ``x`` (used by ``interpolate(mode='area')``)."""
    spatial = x._data.shape[2:]
    if all(s > 0 and n % s == 0 for n, s in zip(spatial, sizes)):
        K = tuple(n // s for n, s in zip(spatial, sizes))
        if all(k == 1 for k in K):
            return x
        if math.prod(K) >= 16:  # big windows: one reduction over a reshaped view
            N, C = x._data.shape[:2]
            shape = (N, C) + tuple(v for s, k in zip(sizes, K) for v in (s, k))
            return mean(reshape(x, shape), tuple(3 + 2 * i for i in range(len(K))))
        return _avg_poolnd(len(sizes), x, K, K, 0, False, True, None)
    return resample(x, sizes, None, "area", False)


def _adaptive_avg_poolnd(nd, input, output_size):
    x, unb = _batched(input, nd, f"adaptive_avg_pool{nd}d")
    out = _adaptive_avg(x, _out_size(output_size, x._data.shape[2:]))
    return squeeze(out, 0) if unb else out


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length."""
    return _adaptive_avg_poolnd(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (H, W); ``None`` keeps that input size."""
    return _adaptive_avg_poolnd(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed (D, H, W)."""
    return _adaptive_avg_poolnd(3, input, output_size)


# -- flat-index gather / scatter ----------------------------------------------------
class IndexScatterBackward(Node):
    """Scatter-add (N, C, *) values to flat per-plane ``index`` of planes of ``size``."""

    def forward(self, v, index, size, out_shape):
        self.index = index
        N, C = v.shape[:2]
        flat = index.reshape(N * C, -1) + (np.arange(N * C) * size)[:, None]
        out = np.bincount(flat.ravel(), weights=v.reshape(-1), minlength=N * C * size)
        return out.astype(v.dtype, copy=False).reshape(out_shape)

    def backward(self, g):
        return apply(IndexGatherBackward, (g,), self.index)


class IndexGatherBackward(Node):
    """Gather flat per-plane ``index`` from (N, C, *) planes."""

    def forward(self, x, index):
        self.index, self.size, self.in_shape = index, int(np.prod(x.shape[2:])), x.shape
        N, C = x.shape[:2]
        return np.take_along_axis(x.reshape(N, C, -1), index.reshape(N, C, -1), 2).reshape(index.shape)

    def backward(self, g):
        return apply(IndexScatterBackward, (g,), self.index, self.size, self.in_shape)


class UnpoolScatterBackward(Node):
    """``out[index] = v`` per (N, C) plane of ``size`` (zeros elsewhere), as PyTorch's
    max_unpool: where indices repeat, the last value wins (and only it gets a gradient)."""

    def forward(self, v, index, size, out_shape):
        self.index = index
        N, C = v.shape[:2]
        flat = (index.reshape(N * C, -1) + (np.arange(N * C) * size)[:, None]).ravel()
        out = np.zeros(N * C * size, dtype=v.dtype)
        out[flat] = v.reshape(-1)  # numpy assigns in order: the last duplicate wins
        # Which input won each slot: O(n), no sort (duplicates are rare).
        order = np.arange(flat.size, dtype=np.int32 if flat.size < 2**31 else np.int64)
        slot = np.empty(out.size, dtype=order.dtype)
        slot[flat] = order
        won = slot[flat] == order
        self.won = None if won.all() else won.astype(v.dtype).reshape(v.shape)
        return out.reshape(out_shape)

    def backward(self, g):
        gv = apply(IndexGatherBackward, (g,), self.index)
        return gv if self.won is None else gv * Tensor._make(self.won)


def _adaptive_max_poolnd(nd, input, output_size, return_indices):
    x, unb = _batched(input, nd, f"adaptive_max_pool{nd}d")
    spatial = x._data.shape[2:]
    sizes = _out_size(output_size, spatial)
    if all(s > 0 and n % s == 0 for n, s in zip(spatial, sizes)):
        K = tuple(n // s for n, s in zip(spatial, sizes))
        out, idx = _max_poolnd(nd, x, K, K, 0, 1, False, True)
    else:
        data = x._data
        win, tmax, starts = data, [], []
        for i in range(nd):
            o = np.arange(sizes[i])
            start = (o * spatial[i]) // sizes[i]
            end = -((-(o + 1) * spatial[i]) // sizes[i])
            T = int((end - start).max())
            ids = np.minimum(start[:, None] + np.arange(T), (end - 1)[:, None])
            win = np.take(win, ids, axis=2 + 2 * i)
            tmax.append(T)
            starts.append(ids)
        N, C = data.shape[:2]
        perm = (0, 1) + tuple(2 + 2 * i for i in range(nd)) + tuple(3 + 2 * i for i in range(nd))
        win = win.transpose(perm).reshape((N, C) + sizes + (-1,))
        arg = np.argmax(win, axis=-1)
        flat = 0
        for i, t in enumerate(np.unravel_index(arg, tmax)):
            shape = [1] * nd
            shape[i] = sizes[i]
            o = np.arange(sizes[i]).reshape(shape)
            flat = flat * spatial[i] + starts[i][o, t]
        idx = _make(flat.astype(np.int64))
        out = apply(IndexGatherBackward, (x,), idx._data)
    if unb:
        out, idx = squeeze(out, 0), squeeze(idx, 0)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length."""
    return _adaptive_max_poolnd(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (H, W); ``return_indices`` gives flat per-plane indices."""
    return _adaptive_max_poolnd(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed (D, H, W)."""
    return _adaptive_max_poolnd(3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_poolnd(1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_poolnd(2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max_poolnd(3, input, output_size, True)


# -- unpooling ---------------------------------------------------------------------
def _max_unpoolnd(nd, input, indices, kernel_size, stride, padding, output_size):
    from ._pool import tup
    x, unb = _batched(input, nd, f"max_unpool{nd}d")
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    idx = idx.reshape(x._data.shape).astype(np.int64, copy=False)
    K = tup(kernel_size, nd)
    s = tup(stride, nd) if stride is not None else K
    p = tup(padding, nd)
    S = tuple((x._data.shape[2 + i] - 1) * s[i] - 2 * p[i] + K[i] for i in range(nd))
    if output_size is not None:
        S = tuple(int(v) for v in output_size)[-nd:]
    plane = math.prod(S)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(f"Found an invalid max index: {int(idx.max())} (output volumes are of size "
                           f"{'x'.join(map(str, S))})")
    out = apply(UnpoolScatterBackward, (x,), idx, plane, x._data.shape[:2] + S)
    return squeeze(out, 0) if unb else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of ``max_pool1d``: values go to ``indices``, zeros elsewhere."""
    return _max_unpoolnd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of ``max_pool2d``: values go to ``indices`` (flat per plane), zeros elsewhere."""
    return _max_unpoolnd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of ``max_pool3d``."""
    return _max_unpoolnd(3, input, indices, kernel_size, stride, padding, output_size)
