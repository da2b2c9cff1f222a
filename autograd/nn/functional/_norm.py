"""Normalisation layers of ``nn.functional``: batch, instance, group, layer and RMS norm.

All normalisations with batch statistics run through one fused node,
``NativeNormBackward0``: the input is viewed as (A, C, L) and standardised
per C over axes (A, L), then scaled and shifted per C:

    y = (x - mean) / sqrt(var + eps) * w + b      (var biased, as PyTorch)

BatchNorm is (N, C, spatial); InstanceNorm is (1, N*C, spatial); GroupNorm
is (1, N*G, C/G*spatial); LayerNorm is (1, rows, normalized). The forward is a
few float32 numpy passes per block of channels small enough to stay in the
CPU cache (blocks split across threads); the first-order backward, blocked the
same way, is the closed form

    dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat)),
    dw = sum(g * xhat),  db = sum(g)

in numpy, and under ``create_graph`` the same formulas are built from
differentiable ops so higher-order gradients are exact.
"""
from __future__ import annotations

import numpy as np

from ... import _buffers
from ..._apply import apply
from ..._grad_mode import is_grad_enabled
from ..._node import Node
from ..._tensor import Tensor
from ...ops import _reduce as R
from ...ops import _unary as U
from . import _norm_jit as J
from ._im2col import parallel

__all__ = ["batch_norm", "instance_norm", "group_norm", "layer_norm", "rms_norm"]

_make = Tensor._make


_JIT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BLOCK_BYTES = 1 << 20  # channels per block: a block's input and output stay in the L2 cache


def _channel_blocks(shape3, itemsize: int) -> tuple[int, int]:
    """(channels per block, number of blocks) for an (A, C, L) array."""
    a, c, l_ = shape3
    per = max(1, BLOCK_BYTES // max(1, a * l_ * itemsize))
    return per, -(-c // per)


def _jit_ok(x3: np.ndarray) -> bool:
    return J.norm_forward is not None and x3.dtype in _JIT_DTYPES and x3.flags.c_contiguous


def _norm_forward(x3: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float, relu: bool = False):
    """y = (x - mean) / sqrt(var + eps) * w + b per C of (A, C, L); returns (y, mean, var, invstd).

    Channel block by channel block (each pass re-reads cache-resident data, not
    memory), blocks split across threads. ``relu``: y = max(y, 0) in the same pass.
    """
    a, c, l_ = x3.shape
    dt = x3.dtype
    n = dt.type(a * l_)
    y = _buffers.empty(x3.shape, x3.dtype)
    mean, var, invstd = (np.empty(c, dt) for _ in range(3))
    per, nb = _channel_blocks(x3.shape, x3.itemsize)
    if _jit_ok(x3):
        w64, b64 = w.astype(np.float64), b.astype(np.float64)
        parallel(lambda lo, hi: J.norm_forward(x3, w64, b64, float(eps), relu, y, mean, var, invstd,
                                               lo * per, min(c, hi * per)), nb, x3.nbytes)
        return y, mean, var, invstd

    def run(lo, hi):
        for k in range(lo, hi):
            c0, c1 = k * per, min(c, (k + 1) * per)
            xb, yb = x3[:, c0:c1], y[:, c0:c1]
            m = np.einsum("acl->c", xb) / n
            np.subtract(xb, m[:, None], out=yb)
            v = np.einsum("acl,acl->c", yb, yb) / n
            s = (1.0 / np.sqrt(v + dt.type(eps))).astype(dt, copy=False)
            yb *= (w[c0:c1] * s).astype(dt, copy=False)[:, None]
            yb += b[c0:c1].astype(dt, copy=False)[:, None]
            if relu:
                np.maximum(yb, 0, out=yb)
            mean[c0:c1], var[c0:c1], invstd[c0:c1] = m, v, s
    parallel(run, nb, x3.nbytes)
    return y, mean, var, invstd


def _norm_backward(g3, x3, w, mean, invstd, need_x: bool, y3=None):
    """(dx or None, sum(g * xhat), sum(g)) per C of (A, C, L), blocked like the forward.

    dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat)). ``y3``: the output of a
    fused ReLU; g is then first masked by y > 0 (the ReLU's backward), block by block.
    """
    a, c, l_ = x3.shape
    dt = x3.dtype
    n = dt.type(a * l_)
    d = _buffers.empty(x3.shape, x3.dtype) if need_x else None
    sg, sgxhat = np.empty(c, dt), np.empty(c, dt)
    per, nb = _channel_blocks(x3.shape, x3.itemsize)
    if _jit_ok(x3) and g3.dtype == dt and (y3 is None or y3.flags.c_contiguous):
        g3 = np.ascontiguousarray(g3)
        w64, yy, dd = w.astype(np.float64), x3 if y3 is None else y3, x3 if d is None else d
        parallel(lambda lo, hi: J.norm_backward(g3, x3, yy, w64, mean, invstd, need_x, y3 is not None,
                                                dd, sgxhat, sg, lo * per, min(c, hi * per)),
                 nb, x3.nbytes)
        return d, sgxhat, sg

    def run(lo, hi):
        t = np.empty((a, min(per, c), l_), dt)
        gm = np.empty_like(t) if y3 is not None else None
        for k in range(lo, hi):
            c0, c1 = k * per, min(c, (k + 1) * per)
            gb, xb, s = g3[:, c0:c1], x3[:, c0:c1], invstd[c0:c1]
            tb = t[:, :c1 - c0]
            if y3 is not None:  # ReLU backward: where(y > 0, g, 0)
                gb = gm[:, :c1 - c0]
                gb.fill(0)
                np.copyto(gb, g3[:, c0:c1], where=y3[:, c0:c1] > 0)
            np.subtract(xb, mean[c0:c1, None], out=tb)  # centred first: no cancellation
            sgb = np.einsum("acl->c", gb)
            q = np.einsum("acl,acl->c", gb, tb) * s
            sg[c0:c1], sgxhat[c0:c1] = sgb, q
            if need_x:
                scale = (w[c0:c1] * s).astype(dt, copy=False)
                db = d[:, c0:c1]
                np.multiply(gb, scale[:, None], out=db)
                tb *= (-scale * s * q / n)[:, None]
                db += tb
                db -= (scale * sgb / n)[:, None]
    parallel(run, nb, x3.nbytes)
    return d, sgxhat, sg


class NativeNormBackward0(Node):
    """y = (x - mean) * invstd * w + b per channel of the (A, C, L) view of ``x``."""
    save_inputs = (0, 1)
    fresh_grads = True

    def forward(self, x, w, b, shape3, eps, stats):
        self.shape3, self.eps = shape3, eps
        y, self.mean, var, self.invstd = _norm_forward(x.reshape(shape3), w, b, eps)
        stats["mean"], stats["var"] = self.mean, var
        return y.reshape(x.shape)

    def backward(self, g):
        x, w = self.saved_tensors
        nf = self.next_functions
        need_x, need_w, need_b = (nf[i][0] is not None for i in range(3))
        if is_grad_enabled():
            return self._backward_graph(g, x, w, need_x, need_w, need_b)
        dt = x._data.dtype
        g3 = g._data.astype(dt, copy=False).reshape(self.shape3)
        d, sgxhat, sg = _norm_backward(g3, x._data.reshape(self.shape3), w._data, self.mean,
                                       self.invstd, need_x)
        dx = _make(d.reshape(x._data.shape)) if need_x else None
        dw = _make(sgxhat.astype(w._data.dtype, copy=False)) if need_w else None
        db = _make(sg.astype(w._data.dtype, copy=False)) if need_b else None
        return dx, dw, db

    def _backward_graph(self, g, x, w, need_x, need_w, need_b):
        """The same closed form from differentiable ops (used under ``create_graph``)."""
        shape3 = self.shape3
        x3 = x.reshape(shape3)
        g3 = g.reshape(shape3)
        mean = R.mean(x3, (0, 2), keepdim=True)
        xc = x3 - mean
        var = R.mean(xc * xc, (0, 2), keepdim=True)
        invstd = U.rsqrt(var + self.eps)
        xhat = xc * invstd
        dx = dw = db = None
        if need_x:
            w3 = w.reshape(1, -1, 1)
            mg = R.mean(g3, (0, 2), keepdim=True)
            mgx = R.mean(g3 * xhat, (0, 2), keepdim=True)
            dx = (w3 * invstd * (g3 - mg - xhat * mgx)).reshape(x.shape)
        if need_w:
            dw = R.sum(g3 * xhat, (0, 2))
        if need_b:
            db = R.sum(g3, (0, 2))
        return dx, dw, db


class NativeNormReluBackward0(NativeNormBackward0):
    """``max(norm(x), 0)``: the norm node with the ReLU fused in (same math, no extra pass,
    no mask array: the ReLU's backward reads the saved output, which the next layer keeps)."""
    saves_output = True

    def forward(self, x, w, b, shape3, eps, stats):
        self.shape3, self.eps = shape3, eps
        y, self.mean, var, self.invstd = _norm_forward(x.reshape(shape3), w, b, eps, relu=True)
        stats["mean"], stats["var"] = self.mean, var
        return y.reshape(x.shape)

    def backward(self, g):
        x, w = self.saved_tensors
        y = self.output()._data
        nf = self.next_functions
        need_x, need_w, need_b = (nf[i][0] is not None for i in range(3))
        if is_grad_enabled():
            g = U.where(y > 0, g, 0.0)
            return self._backward_graph(g, x, w, need_x, need_w, need_b)
        dt = x._data.dtype
        g3 = g._data.astype(dt, copy=False).reshape(self.shape3)
        d, sgxhat, sg = _norm_backward(g3, x._data.reshape(self.shape3), w._data, self.mean,
                                       self.invstd, need_x, y.reshape(self.shape3))
        dx = _make(d.reshape(x._data.shape)) if need_x else None
        dw = _make(sgxhat.astype(w._data.dtype, copy=False)) if need_w else None
        db = _make(sg.astype(w._data.dtype, copy=False)) if need_b else None
        return dx, dw, db


def _native_norm(x: Tensor, shape3, weight, bias, eps: float, relu: bool = False):
    """Standardise ``x`` viewed as ``shape3`` = (A, C, L) per C; returns (y, mean, var)."""
    c = shape3[1]
    dt = x._data.dtype
    if dt.kind != "f":
        raise RuntimeError(f"normalization expects a floating point input, got {dt}")
    w = weight if weight is not None else _make(np.ones(c, dtype=dt))
    b = bias if bias is not None else _make(np.zeros(c, dtype=dt))
    if w._data.shape != (c,) or b._data.shape != (c,):
        raise RuntimeError(f"normalization: weight and bias must have shape ({c},), got "
                           f"{tuple(w.shape)} and {tuple(b.shape)}")
    stats: dict = {}
    y = apply(NativeNormReluBackward0 if relu else NativeNormBackward0, (x, w, b), shape3, eps, stats)
    return y, stats["mean"], stats["var"]


def _channel_view(t: Tensor, ndim: int) -> Tensor:
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _update_running(running: Tensor, value: np.ndarray, momentum: float) -> None:
    r = running._data
    r *= r.dtype.type(1 - momentum)
    r += (value * momentum).astype(r.dtype, copy=False)
    running._version[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5, *, _relu: bool = False) -> Tensor:
    """Batch normalisation over (N, *spatial) per channel (dim 1).

    In training, batch statistics normalise (biased variance) and, when given,
    ``running_mean``/``running_var`` are updated in place with ``momentum``
    (the running variance uses the unbiased estimate). Otherwise the running
    statistics normalise. ``_relu`` (private): ``relu(batch_norm(...))`` fused,
    the same numbers in one node.
    """
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    n, c = input.shape[0], input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        dt = input._data.dtype
        invstd = (1.0 / np.sqrt(running_var._data.astype(dt) + dt.type(eps))).astype(dt)
        rm = running_mean._data.astype(dt)
        nd = input.dim()
        if weight is None:
            scale = _make(invstd)
            shift = _make(-rm * invstd) if bias is None else bias - _make(rm * invstd)
        else:
            scale = weight * _make(invstd)
            shift = -(scale * _make(rm))
            if bias is not None:
                shift = shift + bias
        if not (is_grad_enabled() and (input._requires_grad or scale._requires_grad
                                       or shift._requires_grad)) and \
                scale._data.dtype == shift._data.dtype == dt:
            return _make(_affine_eval(input._data, scale._data, shift._data, _relu))
        y = input * _channel_view(scale, nd) + _channel_view(shift, nd)
        return U.relu(y) if _relu else y
    spatial = input.numel() // max(n * c, 1)
    if n * spatial <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{list(input.shape)}")
    y, mean, var = _native_norm(input, (n, c, spatial), weight, bias, eps, _relu)
    if running_mean is not None:
        _update_running(running_mean, mean, momentum)
    if running_var is not None:
        _update_running(running_var, var * (n * spatial / (n * spatial - 1)), momentum)
    return y


def _affine_eval(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, relu: bool) -> np.ndarray:
    """x * scale + shift (then max(., 0)) per channel of (N, C, *S), without a graph:
    the same operations as the graph path, channel block by channel block in cache."""
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    y = np.empty_like(x3)
    per, nb = _channel_blocks(x3.shape, x3.itemsize)
    if J.affine_eval is not None and x3.dtype in _JIT_DTYPES and x3.flags.c_contiguous:
        # one pass instead of three (the same roundings: bitwise the numpy result)
        parallel(lambda lo, hi: J.affine_eval(x3, scale, shift, relu, y, lo * per, min(c, hi * per)),
                 nb, x3.nbytes)
        return y.reshape(x.shape)

    def run(lo, hi):
        for k in range(lo, hi):
            c0, c1 = k * per, min(c, (k + 1) * per)
            yb = y[:, c0:c1]
            np.multiply(x3[:, c0:c1], scale[c0:c1, None], out=yb)
            yb += shift[c0:c1, None]
            if relu:
                np.maximum(yb, 0, out=yb)
    parallel(run, nb, x3.nbytes)
    return y.reshape(x.shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims; affine per channel."""
    if input.dim() < 3:
        raise ValueError(f"instance_norm: expected at least 3D input (got {input.dim()}D input)")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[0], input.shape[1]
    spatial = input.numel() // max(n * c, 1)
    if spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")

    def rep(t):
        return None if t is None else t.reshape(1, c).expand(n, c).reshape(n * c)

    y, mean, var = _native_norm(input, (1, n * c, spatial), rep(weight), rep(bias), eps)
    if running_mean is not None:
        _update_running(running_mean, mean.reshape(n, c).mean(0), momentum)
    if running_var is not None:
        unbiased = var.reshape(n, c) * (spatial / (spatial - 1))
        _update_running(running_var, unbiased.mean(0), momentum)
    return y


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over groups of C / num_groups channels (and space); affine per channel."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but "
                           f"got input of shape {list(input.shape)} and num_groups={num_groups}")
    per = input.numel() // max(n * num_groups, 1)
    y, _, _ = _native_norm(input, (1, n * num_groups, per), None, None, eps)
    nd = input.dim()
    if weight is not None:
        y = y * _channel_view(weight, nd)
    if bias is not None:
        y = y + _channel_view(bias, nd)
    return y


def _norm_shape(input: Tensor, normalized_shape):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != normalized_shape or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of "
                           f"size{list(input.shape)}")
    return normalized_shape


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims; elementwise affine over them."""
    normalized_shape = _norm_shape(input, normalized_shape)
    k = int(np.prod(normalized_shape))
    rows = input.numel() // max(k, 1)
    y, _, _ = _native_norm(input, (1, rows, k), None, None, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims, times ``weight``."""
    normalized_shape = _norm_shape(input, normalized_shape)
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    y = input * U.rsqrt(R.mean(input * input, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y
