"""Convolutions ``conv1d/2d/3d`` and the three graph nodes every convolution lowers to.

A convolution ``y = conv(x, w)`` is bilinear, so its whole derivative family
closes over three primitives (each a ``Node`` whose backward is written with
the others, so gradients of any order work):

- ``ConvolutionBackward0``    (x, w[, b]) -> y          forward convolution
- ``ConvTransposeBackward0``  (y, w[, b]) -> x-shaped   adjoint in x (= transposed conv)
- ``ConvWeightBackward0``     (x, y)      -> w-shaped   adjoint in w

The kernels below (``conv_forward``, ``conv_backward``): stride-1 float
convolutions with one group run directly on compiled SIMD tiles, without a
column matrix (``_conv_direct``; dx is the forward of the flipped kernel). The
others unfold cache-sized row chunks with ``_im2col``, one GEMM per chunk and
group, one pipeline per core (stride 1, 16-64 output channels per group: last
kernel axis folded into the GEMM rows, ``_conv_lastaxis``); one backward pass.

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> x = torch.randn(1, 3, 8, 8)
>>> w = torch.randn(4, 3, 3, 3)
>>> tuple(F.conv2d(x, w, padding="same").shape)
(1, 4, 8, 8)
"""
from __future__ import annotations

from math import prod

import numpy as np

from ... import _buffers
from ..._apply import apply
from ..._grad_mode import is_grad_enabled
from ..._node import Node
from ..._tensor import Tensor
from ...ops._reduce import sum as _sum
from ...ops._shape import squeeze, unsqueeze
from . import _conv_direct, _conv_lastaxis
from . import _im2col as K
from ._conv_adjoint import flipped_geometry

_make = Tensor._make

__all__ = ["conv1d", "conv2d", "conv3d"]


def ntuple(v, nd: int, name: str = "argument") -> tuple:
    """``2 -> (2, 2)``; a sequence must have ``nd`` entries."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and nd > 1:
            v = tuple(v) * nd
        if len(v) != nd:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} values "
                               f"to match the convolution dimensions, but got {name}={list(v)}")
        return tuple(int(a) for a in v)
    return (int(v),) * nd


def _shape_only(x, y, geom):
    """A weight-shaped carrier array (only its shape is read)."""
    return np.broadcast_to(np.zeros((), x.dtype), (y.shape[1], x.shape[1] // geom.G) + geom.K)


def _bias_grad(g: Tensor) -> Tensor:
    return _sum(g, (0,) + tuple(range(2, g._data.ndim)))


class ConvolutionBackward0(Node):
    """``y = conv(x, w) + b``."""
    save_inputs = (0, 1)
    fresh_grads = True

    def forward(self, x, w, *rest):
        self.geom = rest[-1]
        self.has_bias = len(rest) == 2
        return conv_forward(x, w, rest[0] if self.has_bias else None, self.geom)

    def backward(self, g):
        x, w = self.saved_tensors
        nf = self.next_functions
        need_x, need_w = nf[0][0] is not None, nf[1][0] is not None
        need_b = self.has_bias and nf[2][0] is not None
        if is_grad_enabled():  # create_graph: differentiable nodes
            gx = conv_input(g, w, self.geom) if need_x else None
            gw = conv_weight(x, g, self.geom) if need_w else None
            gb = _bias_grad(g) if need_b else None
        else:  # one fused pass over the gradient rows computes all three
            flip = flipped_geometry(w._data, self.geom) if need_x else None
            gx = gw = gb = None
            if flip is not None:  # dx as a forward conv of g (see _conv_adjoint)
                gx, need_x = _make(conv_forward(g._data, flip[0], None, flip[1])), False
            if need_x or need_w or need_b:
                dx, gw, gb = (None if a is None else _make(a) for a in conv_backward(
                    g._data, w._data, self.geom, x._data, need_x, need_w, need_b=need_b))
                gx = dx if flip is None else gx
        return (gx, gw, gb) if self.has_bias else (gx, gw)


class ConvTransposeBackward0(Node):
    """``x = conv_input(y, w) + b``: the adjoint of ``conv`` in its input (a transposed conv)."""
    save_inputs = (0, 1)
    fresh_grads = True

    def forward(self, y, w, *rest):
        self.geom = rest[-1]
        self.has_bias = len(rest) == 2
        return conv_backward(y, w, self.geom, need_w=False, bias=rest[0] if self.has_bias else None)[0]

    def backward(self, gz):
        y, w = self.saved_tensors
        nf = self.next_functions
        gy = conv(gz, w, self.geom) if nf[0][0] is not None else None
        gw = conv_weight(gz, y, self.geom) if nf[1][0] is not None else None
        if not self.has_bias:
            return gy, gw
        return gy, gw, (_bias_grad(gz) if nf[2][0] is not None else None)


class ConvWeightBackward0(Node):
    """``dw = conv_weight(x, y)``: the adjoint of ``conv`` in its weight."""
    save_inputs = (0, 1)
    fresh_grads = True

    def forward(self, x, y, geom):
        self.geom = geom
        return conv_backward(y, _shape_only(x, y, geom), geom, x, need_x=False)[1]

    def backward(self, gw):
        x, y = self.saved_tensors
        nf = self.next_functions
        gx = conv_input(y, gw, self.geom) if nf[0][0] is not None else None
        gy = conv(x, gw, self.geom) if nf[1][0] is not None else None
        return gx, gy


def conv(x: Tensor, w: Tensor, geom, bias: Tensor | None = None) -> Tensor:
    """Differentiable convolution of batched ``x`` with geometry ``geom``."""
    return apply(ConvolutionBackward0, (x, w) if bias is None else (x, w, bias), geom)


def conv_input(y: Tensor, w: Tensor, geom, bias: Tensor | None = None) -> Tensor:
    """Differentiable adjoint of ``conv`` in x (transposed convolution)."""
    return apply(ConvTransposeBackward0, (y, w) if bias is None else (y, w, bias), geom)


def conv_weight(x: Tensor, y: Tensor, geom) -> Tensor:
    """Differentiable adjoint of ``conv`` in w."""
    return apply(ConvWeightBackward0, (x, y), geom)


def check_operands(name, x: Tensor, weight: Tensor, bias, nd: int):
    """Validate ranks and dtypes; returns (batched x, was_unbatched)."""
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{name}(): input and weight must be Tensors")
    if weight._data.ndim != nd + 2:
        raise RuntimeError(f"{name}: expected weight to be {nd + 2}-dimensional, but got weight of "
                           f"size {list(weight.shape)}")
    if x._data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but "
                           f"got input of size: {list(x.shape)}")
    if x._data.dtype != weight._data.dtype:
        raise RuntimeError(f"Input type ({x._data.dtype}) and weight type ({weight._data.dtype}) "
                           "should be the same")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got {x._data.dtype}")
    if bias is not None:
        if bias._data.dtype != x._data.dtype:
            raise RuntimeError(f"Input type ({x._data.dtype}) and bias type ({bias._data.dtype}) "
                               "should be the same")
    unbatched = x._data.ndim == nd + 1
    return (unsqueeze(x, 0) if unbatched else x), unbatched


def same_pads(K_, d):
    """PyTorch's 'same' padding: total d*(k-1), the odd extra on the right."""
    left = tuple(di * (k - 1) // 2 for k, di in zip(K_, d))
    right = tuple(di * (k - 1) - lo for k, di, lo in zip(K_, d, left))
    return left, right


def _convnd(nd, input, weight, bias, stride, padding, dilation, groups):
    name = f"conv{nd}d"
    x, unbatched = check_operands(name, input, weight, bias, nd)
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    groups = int(groups)
    K_ = tuple(weight._data.shape[2:])
    C, Co = x._data.shape[1], weight._data.shape[0]
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    if any(s < 1 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d < 1 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if C != weight._data.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {weight._data.shape[1] * groups} channels, but got {C} "
            "channels instead")
    if Co % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if bias is not None and tuple(bias._data.shape) != (Co,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {Co} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    if isinstance(padding, str):
        if padding == "valid":
            pl = pr = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pl, pr = same_pads(K_, dilation)
        else:
            raise RuntimeError(f"Invalid padding string '{padding}'")
    else:
        pl = pr = ntuple(padding, nd, "padding")
        if any(p < 0 for p in pl):
            raise RuntimeError("negative padding is not supported")
    geom = K.Geom(tuple(x._data.shape[2:]), K_, stride, pl, pr, dilation, groups)
    out = conv(x, weight, geom, bias)
    return squeeze(out, 0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) or (C, L) input; weight (Co, C/groups, k).

    ``padding`` is an int, a tuple, ``'valid'`` or ``'same'``.
    """
    return _convnd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C, H, W) or (C, H, W) input; weight (Co, C/groups, kH, kW).

    Examples
    --------
    >>> import autograd as torch
    >>> x = torch.ones(1, 1, 4, 4)
    >>> torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3), padding=1)[0, 0, 0].tolist()
    [4.0, 6.0, 6.0, 4.0]
    """
    return _convnd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input; weight (Co, C/groups, kD, kH, kW)."""
    return _convnd(3, input, weight, bias, stride, padding, dilation, groups)


# -- numpy kernels (see ``_im2col`` for the layout and threading) ---------------------
def conv_forward(x, w, bias, g: K.Geom):
    """y = conv(x, w) + bias: x (N, C, *S), w (Co, C/G, *K) -> (N, Co, *O).

    Each chunk's GEMM writes a cache-resident grid, cropped into the output with
    the bias (a GEMM writing fresh output pages directly stalls on page faults).
    """
    N, C = x.shape[:2]
    Co, G, dt, it = w.shape[0], g.G, x.dtype, x.itemsize
    rows, rg, cg = C * g.kprod, C // G * g.kprod, Co // G
    out = _buffers.empty((N, Co) + g.O, dt)
    w2 = w.reshape(G, cg, rg)
    T = K.threads_for_gemm(N * prod(g.O) * rows * (Co // G))
    inner = g.inner if g.flat else g.oinner
    direct = _conv_direct.plan(g, w.shape, dt)
    fold = _conv_lastaxis.plan(g, w.shape) if direct is None else None
    wf = direct.weight(w) if direct is not None else fold.weight(w) if fold is not None else None
    # rows of the larger per-chunk buffer (column matrix, folded GEMM's or direct output): sizes chunks
    crows = 8 * Co if direct is not None else rows if fold is None else max(G * fold.rg, fold.kw * Co)
    slack = direct.slack if direct is not None else 0

    def work(segs):
        for n0, m, ra, rb in segs:
            for origin, ca, cb, gb, lo, hi in K.input_bands(g, ra, rb, m * C * it):
                # a large sample's padded input is filled band by band; chunk rows below
                # count from the band's origin, on both input and output
                xp = K.workspace("xp", (m, C, gb.alloc + slack), dt)
                K.fill_padded(xp, x[n0:n0 + m, :, lo:hi], gb)
                ob = out[n0:n0 + m, :, origin:]
                offs = direct.offsets(xp.shape[2]) if direct is not None else None
                for a, b, h in K.row_chunks(gb, ca, cb, crows, m, it, T):
                    if direct is not None:
                        direct.forward(wf, offs, xp, ob, a, b, h, bias)
                        continue
                    if fold is not None:
                        fold.forward(wf, xp, ob, a, b, h, bias, dt)
                        continue
                    cols = m * (g.span(a, b, h)[1] if g.flat else (b - a) * inner)
                    col = K.workspace("col", (rows, cols), dt)
                    K.im2col(col, xp, g, a, b, flat=g.flat, h=h)
                    og = K.workspace("og", (Co, m, cols // m), dt)
                    o2 = og.reshape(Co, cols)
                    for gi in range(G):
                        np.matmul(w2[gi], col[gi * rg:(gi + 1) * rg], out=o2[gi * cg:(gi + 1) * cg])
                    K.crop_grid(ob, og, g, a, b, bias, h)
    K.run_threads(work, K.split_rows(N, g.O[0], T, rows * g.inner * it))
    return out


def conv_backward(y, w, g: K.Geom, x=None, need_x=True, need_w=True, bias=None, need_b=False):
    """Adjoints of ``conv`` in one pass over the output-gradient rows.

    y (N, Co, *O) is the output gradient, w (Co, C/G, *K), x (N, C, *S) the input
    (read for dw). Returns (dx (N, C, *S) (+ bias), dw (Co, C/G, *K), db (Co,)),
    each None unless requested. Threads split the rows; the input-gradient rows
    at their boundaries get contributions from both sides and are summed after.
    """
    direct = _conv_direct.plan(g, w.shape, y.dtype)
    flip = flipped_geometry(w, g, any_ratio=True) if direct is not None and need_x else None
    if direct is not None and (flip is not None or not need_x):  # no column matrices at all
        gx = conv_forward(y, flip[0], bias, flip[1]) if need_x else None
        return (gx,) + _conv_direct.weight_grad(direct, y, x, need_w, need_b)
    N, Co = y.shape[:2]
    G, dt, it = g.G, y.dtype, y.itemsize
    C = w.shape[1] * G
    rows, rg, cg = C * g.kprod, w.shape[1] * g.kprod, Co // G
    T = K.threads_for_gemm(N * prod(g.O) * rows * (Co // G))
    gx = _buffers.empty((N, C) + g.S, dt) if need_x else None
    fold = _conv_lastaxis.plan(g, w.shape) if need_x or need_w else None
    crows = rows  # column-matrix rows: sizes the chunks
    if fold is not None:  # rows of the products: (c, tap) by (last-axis tap, co)
        rg, cg, crows = fold.rg, fold.kw * cg, max(G * fold.rg, fold.kw * Co)
    wt = None if not need_x else fold.weight_t(w) if fold is not None else \
        np.ascontiguousarray(w.reshape(G, cg, rg).transpose(0, 2, 1))

    def work(segs):
        acc = np.zeros((G, rg, cg), dtype=dt) if need_w else None
        tmp = np.empty((rg, cg), dtype=dt) if need_w else None
        bacc = np.zeros(Co, dtype=dt) if need_b else None
        partial = []
        for n0, m, ra, rb in segs:
            if need_w:
                xp = K.workspace("xp", (m, C, g.alloc), dt)
                K.fill_padded(xp, x[n0:n0 + m], g)
            if need_x:
                gxp = K.workspace("gxp", (m, C, g.alloc), dt)
                gxp.fill(0)
            for a, b, h in K.row_chunks(g, ra, rb, crows, m, it, T):
                pc = (b - a) * g.oinner
                if g.flat or m > 1:
                    # stride 1: the padded output grid feeds both GEMMs (flat windows);
                    # several samples: their rows side by side
                    og = K.workspace("og", (Co, m, g.span(a, b, h)[1] if g.flat else pc), dt)
                    K.fill_grid(og, y[n0:n0 + m], g, a, b, h)
                    src = og.reshape(Co, -1)
                else:
                    src = y[n0, :, a:b].reshape(Co, pc)
                if need_b:  # a GEMV over the cache-resident rows (the grid's gaps are zero)
                    ones = K.workspace("ones", (src.shape[1],), dt)
                    ones.fill(1)
                    bacc += src @ ones
                if fold is not None:
                    src = fold.stack_grad(src, m, a, b, h, dt)
                if need_w:
                    if fold is not None:
                        col = fold.im2col(xp, a, b, h, dt)
                    else:
                        col = K.workspace("col", (rows, src.shape[1]), dt)
                        K.im2col(col, xp, g, a, b, flat=g.flat, h=h)
                    for gi in range(G):
                        np.matmul(col[gi * rg:(gi + 1) * rg], src[gi * cg:(gi + 1) * cg].T, out=tmp)
                        acc[gi] += tmp
                if need_x:
                    col = K.workspace("col", (G * rg, src.shape[1]), dt)
                    for gi in range(G):
                        np.matmul(wt[gi], src[gi * cg:(gi + 1) * cg], out=col[gi * rg:(gi + 1) * rg])
                    if fold is not None:
                        fold.col2im(gxp, col, a, b, h)
                    else:
                        K.col2im(gxp, col, g, a, b, h)
            if need_x:
                lo, hi, t_lo, t_hi = g.complete_rows(ra, rb)
                K.crop_padded(gx[n0:n0 + m], gxp, g, max(lo, 0), min(hi, g.S[0]), bias)
                for r0, r1 in ((t_lo, lo), (hi, t_hi)):
                    r0, r1 = max(r0, 0), min(r1, g.Se[0])
                    if r1 > r0:
                        part = np.empty((m, C, r1 - r0) + g.S[1:], dtype=dt)
                        K.crop_rows(part, gxp, g, r0, r1)
                        partial.append((n0, m, r0, r1, part))
        return acc, bacc, partial
    # in part order, whatever thread ran a part: the sums below are bitwise the same
    # with any number of threads
    results = K.run_threads(work, K.split_rows(N, g.O[0], T, rows * g.inner * it))
    gw = gb = None
    if need_w:
        acc = np.sum([r[0] for r in results], axis=0)
        gw = fold.unfold_weight_grad(acc) if fold is not None else \
            np.ascontiguousarray(acc.transpose(0, 2, 1)).reshape(w.shape)
    if need_b:
        gb = np.sum([r[1] for r in results], axis=0)
    if need_x:
        parts = [p for r in results for p in r[2]]
        for n0, m, r0, r1, _ in parts:  # rows shared by threads: bias (or 0), then every share
            gx[n0:n0 + m, :, r0:r1] = 0 if bias is None else bias.reshape((-1,) + (1,) * g.nd)
        for n0, m, r0, r1, part in parts:
            gx[n0:n0 + m, :, r0:r1] += part
    return gx, gw, gb

