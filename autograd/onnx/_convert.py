"""Converters from engine ops (functional form) to ONNX nodes.

Each converter takes the graph builder ``g``, the op's bound arguments ``a``
(a dict, as the engine function would see them) and the traced output
tensor, and returns the ONNX value name of the result. Module converters
(``_convert_modules.py``) call these with the module's attributes, so a
layer and its functional form export identically.
"""
from __future__ import annotations

import math

import numpy as np

from ._graph import UnsupportedOperatorError


def _tup(v, n):
    if isinstance(v, (list, tuple)):
        v = [int(x) for x in v]
        return v * n if len(v) == 1 else v
    return [int(v)] * n


def torch_pads_to_onnx(pad, rank: int) -> list[int]:
    """``F.pad`` order (last dim first, (left, right) pairs) -> ONNX begins..., ends..."""
    pad = [int(p) for p in pad]
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    return begins + ends


_PAD_MODES = {"constant": "constant", "zeros": "constant", "reflect": "reflect",
              "replicate": "edge", "circular": "wrap"}


def pad(g, x: str, pads_torch, mode: str, value: float, rank: int) -> str:
    if mode not in _PAD_MODES:
        raise UnsupportedOperatorError(f"ONNX export: pad mode {mode!r} is not supported")
    if mode == "circular" and g.opset < 19:
        raise UnsupportedOperatorError("ONNX export: circular padding needs opset_version >= 19 "
                                       f"(got {g.opset})")
    inputs = [x, g.ints(torch_pads_to_onnx(pads_torch, rank), "pads")]
    if _PAD_MODES[mode] == "constant" and value:
        inputs.append(g.const(float(value), "pad_value"))
    return g.op("Pad", inputs, mode=_PAD_MODES[mode])


def conv(g, x, w, b, *, nd, kernel, stride, padding, dilation, groups) -> str:
    dil = _tup(dilation, nd)
    if isinstance(padding, str):
        if padding == "valid":
            pads = [0] * (2 * nd)
        else:  # 'same': total d*(k-1), the odd extra on the right (as the engine does)
            left = [d * (k - 1) // 2 for k, d in zip(kernel, dil)]
            pads = left + [d * (k - 1) - lo for k, d, lo in zip(kernel, dil, left)]
    else:
        pads = _tup(padding, nd) * 2
    return g.op("Conv", [x, w] + ([b] if b else []), kernel_shape=list(kernel),
                strides=_tup(stride, nd), pads=pads, dilations=dil, group=int(groups))


def conv_transpose(g, x, w, b, *, nd, kernel, stride, padding, output_padding, dilation,
                   groups) -> str:
    return g.op("ConvTranspose", [x, w] + ([b] if b else []), kernel_shape=list(kernel),
                strides=_tup(stride, nd), pads=_tup(padding, nd) * 2,
                output_padding=_tup(output_padding, nd), dilations=_tup(dilation, nd),
                group=int(groups))


def activation(g, kind: str, x: str, **p) -> str:
    """ReLU & co.; composite ones (GELU, SiLU) decompose into opset-17 nodes."""
    if kind == "relu":
        return g.op("Relu", [x])
    if kind == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(p.get("negative_slope", 0.01)))
    if kind in ("sigmoid", "tanh"):
        return g.op(kind.capitalize(), [x])
    if kind == "elu":
        return g.op("Elu", [x], alpha=float(p.get("alpha", 1.0)))
    if kind == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if kind in ("hardtanh", "relu6"):
        lo, hi = (0.0, 6.0) if kind == "relu6" else (p.get("min_val", -1.0), p.get("max_val", 1.0))
        return g.op("Clip", [x, g.const(float(lo), "clip_min"), g.const(float(hi), "clip_max")])
    if kind == "softplus":
        beta = float(p.get("beta", 1.0))
        if beta == 1.0:
            return g.op("Softplus", [x])
        sp = g.op("Softplus", [g.op("Mul", [x, g.const(beta, "beta")])])
        return g.op("Div", [sp, g.const(beta, "beta")])
    if kind == "gelu":
        half = g.op("Mul", [x, g.const(0.5, "half")])
        if p.get("approximate", "none") == "tanh":
            cube = g.op("Mul", [g.op("Mul", [x, x]), x])
            inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, "gelu_c")])])
            t = g.op("Tanh", [g.op("Mul", [inner, g.const(math.sqrt(2 / math.pi), "gelu_k")])])
        else:
            t = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2.0), "sqrt2")])])
        return g.op("Mul", [half, g.op("Add", [t, g.const(1.0, "one")])])
    if kind in ("softmax", "log_softmax"):
        dim = p.get("dim")
        if dim is None:
            raise UnsupportedOperatorError(f"ONNX export: {kind} needs an explicit dim")
        return g.op("Softmax" if kind == "softmax" else "LogSoftmax", [x], axis=int(dim))
    raise UnsupportedOperatorError(f"ONNX export: unsupported activation {kind!r}")


def pool(g, kind: str, x: str, *, nd, kernel_size, stride, padding, dilation=1, ceil_mode=False,
         count_include_pad=True, divisor_override=None, return_indices=False) -> str:
    if return_indices:
        raise UnsupportedOperatorError("ONNX export: max pooling with return_indices=True")
    if divisor_override:
        raise UnsupportedOperatorError("ONNX export: avg pooling with divisor_override")
    k = _tup(kernel_size, nd)
    s = _tup(stride if stride not in (None, [], ()) else kernel_size, nd)
    common = dict(kernel_shape=k, strides=s, pads=_tup(padding, nd) * 2, ceil_mode=int(bool(ceil_mode)))
    if kind == "max":
        return g.op("MaxPool", [x], dilations=_tup(dilation, nd), **common)
    return g.op("AveragePool", [x], count_include_pad=int(bool(count_include_pad)), **common)


def adaptive_pool(g, kind: str, x: str, in_shape, out_shape, nd: int) -> str:
    """Global pooling, or a plain pool when every output size divides its input size."""
    sin, sout = list(in_shape[-nd:]), list(out_shape[-nd:])
    if all(o == 1 for o in sout):
        return g.op("GlobalMaxPool" if kind == "max" else "GlobalAveragePool", [x])
    if any(o == 0 or i % o for i, o in zip(sin, sout)):
        raise UnsupportedOperatorError(
            f"ONNX export: adaptive_{kind}_pool{nd}d from {sin} to {sout} is not exact as a fixed "
            "pooling (input sizes must be multiples of the output sizes)")
    k = [i // o for i, o in zip(sin, sout)]
    return pool(g, kind, x, nd=nd, kernel_size=k, stride=k, padding=0)


def resize(g, x: str, *, size, scale_factor, mode, align_corners, recompute_scale_factor,
           antialias, in_shape, out_shape) -> str:
    if antialias:
        raise UnsupportedOperatorError("ONNX export: interpolate with antialias=True")
    nd = len(in_shape) - 2
    attrs = {}
    if mode == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif mode in ("linear", "bilinear", "trilinear", "bicubic"):
        attrs = dict(mode="cubic" if mode == "bicubic" else "linear",
                     coordinate_transformation_mode="align_corners" if align_corners
                     else "pytorch_half_pixel")
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
    else:
        raise UnsupportedOperatorError(f"ONNX export: interpolate mode {mode!r} is not supported")
    if scale_factor is not None and not recompute_scale_factor:
        sf = [float(v) for v in (scale_factor if isinstance(scale_factor, (list, tuple))
                                 else [scale_factor] * nd)]
        return g.op("Resize", [x, "", g.const([1.0, 1.0] + sf, "scales")], **attrs)
    return g.op("Resize", [x, "", "", g.ints(list(out_shape), "sizes")], **attrs)


def reshape(g, x: str, in_shape, out_shape) -> str:
    """Reshape to the traced shape; leading dims equal to the input's are copied (0) so a
    dynamic batch axis stays dynamic."""
    target = list(out_shape)
    for i, (a, b) in enumerate(zip(in_shape, out_shape)):
        if a != b:
            break
        target[i] = 0
    if target.count(0) < len(target) and 0 in target and -1 not in target:
        # one free dim absorbs a changed batch size when the rest is fixed
        free = [i for i, t in enumerate(target) if t != 0]
        if len(free) == 1:
            target[free[0]] = -1
    return g.op("Reshape", [x, g.ints(target, "shape")])


def flatten(g, x: str, start: int, end: int, in_shape, out_shape) -> str:
    rank = len(in_shape)
    start, end = start % rank if rank else 0, end % rank if rank else 0
    if end == rank - 1 and start <= 1 and rank > 0:
        if start == 1:
            return g.op("Flatten", [x], axis=1)
        return g.op("Reshape", [x, g.ints([-1], "shape")])
    return reshape(g, x, in_shape, out_shape)


def linear(g, x: str, w: str, b: str | None, in_rank: int) -> str:
    if in_rank == 2:
        return g.op("Gemm", [x, w] + ([b] if b else []), transB=1)
    y = g.op("MatMul", [x, g.op("Transpose", [w], perm=[1, 0])])
    return g.op("Add", [y, b]) if b else y


def group_norm(g, x: str, w, b, groups: int, eps: float, rank: int) -> str:
    """GroupNorm as InstanceNormalization over (N, G, -1), then the per-channel affine."""
    grouped = g.op("Reshape", [x, g.ints([0, int(groups), -1], "gn_shape")])
    normed = g.op("InstanceNormalization", [grouped, g.const(np.ones(groups), "gn_ones"),
                                            g.const(np.zeros(groups), "gn_zeros")],
                  epsilon=float(eps))
    y = g.op("Reshape", [normed, g.op("Shape", [x])])
    axes = g.ints(list(range(1, rank - 1)), "gn_axes")
    if w:
        y = g.op("Mul", [y, g.op("Unsqueeze", [w, axes])])
    if b:
        y = g.op("Add", [y, g.op("Unsqueeze", [b, axes])])
    return y


def batch_norm(g, x: str, w, b, mean, var, eps: float, channels: int) -> str:
    w = w or g.const(np.ones(channels), "bn_ones")
    b = b or g.const(np.zeros(channels), "bn_zeros")
    return g.op("BatchNormalization", [x, w, b, mean, var], epsilon=float(eps))


def instance_norm(g, x: str, w, b, eps: float, channels: int) -> str:
    w = w or g.const(np.ones(channels), "in_ones")
    b = b or g.const(np.zeros(channels), "in_zeros")
    return g.op("InstanceNormalization", [x, w, b], epsilon=float(eps))


def layer_norm(g, x: str, w, b, normalized_shape, eps: float) -> str:
    shape = [int(s) for s in normalized_shape]
    w = w or g.const(np.ones(shape), "ln_ones")
    ins = [x, w] + ([b] if b else [])
    return g.op("LayerNormalization", ins, axis=-len(shape), epsilon=float(eps))
