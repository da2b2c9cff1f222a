"""ONNX op implementations for the importer, on engine Tensors.

Float data stays an engine Tensor (so gradients flow for fine-tuning); small
integer shape arithmetic (Shape, Gather, Slice, ...) runs on numpy arrays.
Each function takes ``(m, node, attrs, *inputs)`` where ``m`` is the
importing module (for ``m.training``) and missing optional inputs are None.
"""
from __future__ import annotations

import numpy as np

from .. import _tensor
from ..nn import functional as F
from ._graph import UnsupportedOperatorError

Tensor = _tensor.Tensor


def _T(v):
    import autograd
    if isinstance(v, Tensor):
        return v
    return autograd.from_numpy(np.ascontiguousarray(np.asarray(v, dtype=np.float32)))


def _np(v):
    return v.detach().numpy() if isinstance(v, Tensor) else np.asarray(v)


def _unsupported(node, why):
    return UnsupportedOperatorError(f"ONNX import: {node.op_type} node {node.name!r}: {why}")


def _sym_pads(node, pads, nd):
    if not pads:
        return [0] * nd, None
    begin, end = list(pads[:nd]), list(pads[nd:])
    if begin == end:
        return begin, None
    torch_pad = []
    for b, e in zip(reversed(begin), reversed(end)):
        torch_pad += [b, e]
    return [0] * nd, torch_pad


def _auto_pad(node, attrs):
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise _unsupported(node, f"auto_pad={attrs['auto_pad']} (write explicit pads)")


def conv(m, node, attrs, x, w, b=None):
    _auto_pad(node, attrs)
    nd = w.dim() - 2
    pads, pre = _sym_pads(node, attrs.get("pads"), nd)
    if pre:
        x = F.pad(x, pre)
    fn = getattr(F, f"conv{nd}d")
    return fn(x, w, b, stride=attrs.get("strides", 1), padding=pads,
              dilation=attrs.get("dilations", 1), groups=attrs.get("group", 1))


def conv_transpose(m, node, attrs, x, w, b=None):
    _auto_pad(node, attrs)
    if "output_shape" in attrs:
        raise _unsupported(node, "output_shape attribute (use pads/output_padding)")
    nd = w.dim() - 2
    pads, pre = _sym_pads(node, attrs.get("pads"), nd)
    if pre:
        raise _unsupported(node, "asymmetric pads")
    fn = getattr(F, f"conv_transpose{nd}d")
    return fn(x, w, b, stride=attrs.get("strides", 1), padding=pads,
              output_padding=attrs.get("output_padding", 0), groups=attrs.get("group", 1),
              dilation=attrs.get("dilations", 1))


def batch_norm(m, node, attrs, x, scale, bias, mean, var):
    # ONNX momentum weighs the old running value; the engine's weighs the new batch
    momentum = 1.0 - attrs.get("momentum", 0.9)
    return F.batch_norm(x, mean, var, scale, bias, training=m.training, momentum=momentum,
                        eps=attrs.get("epsilon", 1e-5))


def instance_norm(m, node, attrs, x, scale, bias):
    return F.instance_norm(x, weight=scale, bias=bias, eps=attrs.get("epsilon", 1e-5))


def layer_norm(m, node, attrs, x, scale, bias=None):
    axis = attrs.get("axis", -1) % x.dim()
    return F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, eps=attrs.get("epsilon", 1e-5))


def gemm(m, node, attrs, a, b, c=None):
    if attrs.get("transA", 0):
        a = a.t()
    if attrs.get("transB", 0):
        b = b.t()
    y = a @ b
    if attrs.get("alpha", 1.0) != 1.0:
        y = y * attrs["alpha"]
    if c is not None:
        y = y + (c * attrs["beta"] if attrs.get("beta", 1.0) != 1.0 else c)
    return y


def pool(kind):
    def run(m, node, attrs, x):
        _auto_pad(node, attrs)
        nd = x.dim() - 2
        k = attrs["kernel_shape"]
        pads, pre = _sym_pads(node, attrs.get("pads"), nd)
        if pre:
            raise _unsupported(node, "asymmetric pads")
        if attrs.get("storage_order", 0):
            raise _unsupported(node, "storage_order=1")
        common = dict(kernel_size=k, stride=attrs.get("strides", 1), padding=pads,
                      ceil_mode=bool(attrs.get("ceil_mode", 0)))
        if kind == "max":
            return getattr(F, f"max_pool{nd}d")(x, dilation=attrs.get("dilations", 1), **common)
        return getattr(F, f"avg_pool{nd}d")(x, count_include_pad=bool(attrs.get("count_include_pad", 0)),
                                             **common)
    return run


def global_pool(kind):
    def run(m, node, attrs, x):
        nd = x.dim() - 2
        return getattr(F, f"adaptive_{kind}_pool{nd}d")(x, 1)
    return run


def resize(m, node, attrs, x, roi=None, scales=None, sizes=None):
    nd = x.dim() - 2
    mode = attrs.get("mode", "nearest")
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest":
        if ctm != "asymmetric" or attrs.get("nearest_mode", "round_prefer_floor") != "floor":
            raise _unsupported(node, f"nearest with {ctm}/{attrs.get('nearest_mode')} "
                               "(only asymmetric/floor, PyTorch's 'nearest')")
        kw = {}
    elif mode in ("linear", "cubic"):
        if ctm not in ("align_corners", "pytorch_half_pixel", "half_pixel"):
            raise _unsupported(node, f"coordinate_transformation_mode={ctm}")
        mode = "bicubic" if mode == "cubic" else {1: "linear", 2: "bilinear", 3: "trilinear"}[nd]
        kw = {"align_corners": ctm == "align_corners"}
    else:
        raise _unsupported(node, f"mode={mode}")
    if sizes is not None and np.size(sizes):
        return F.interpolate(x, size=[int(s) for s in _np(sizes)[2:]], mode=mode, **kw)
    sc = _np(scales).astype(float)
    if sc[0] != 1 or sc[1] != 1:
        raise _unsupported(node, "scaling of batch/channel axes")
    return F.interpolate(x, scale_factor=[float(s) for s in sc[2:]], mode=mode, **kw)


_PADMODE = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pad(m, node, attrs, x, pads, value=None, axes=None):
    rank = x.dim()
    p = [int(v) for v in _np(pads)]
    if axes is not None and np.size(axes):
        full = [0] * (2 * rank)
        ax = [int(a) % rank for a in _np(axes)]
        for i, a in enumerate(ax):
            full[a], full[rank + a] = p[i], p[len(ax) + i]
        p = full
    # F.pad order: last axis first, down to the first padded axis
    torch_pad = []
    first = min([i for i in range(rank) if p[i] or p[rank + i]], default=rank - 1)
    for i in range(rank - 1, first - 1, -1):
        torch_pad += [p[i], p[rank + i]]
    mode = _PADMODE.get(attrs.get("mode", "constant"))
    if mode is None:
        raise _unsupported(node, f"mode={attrs.get('mode')}")
    val = float(_np(value).reshape(-1)[0]) if value is not None and np.size(_np(value)) else 0.0
    if mode == "constant":
        return F.pad(x, torch_pad, mode="constant", value=val)
    return F.pad(x, torch_pad, mode=mode)
