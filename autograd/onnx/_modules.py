"""Module converters: a known layer becomes ONNX nodes built from its attributes.

Layers are converted whole (their inner engine ops are not traced), which
keeps e.g. ``padding_mode`` and BatchNorm running statistics exact.
"""
from __future__ import annotations

from .. import nn
from . import _convert as C
from ._graph import UnsupportedOperatorError


def _conv(g, m, x, inp, out):
    nd = m._nd
    w = g.name_of(m.weight)
    b = g.name_of(m.bias) if m.bias is not None else None
    if m.transposed:
        return C.conv_transpose(g, x, w, b, nd=nd, kernel=m.kernel_size, stride=m.stride,
                                padding=m.padding, output_padding=m.output_padding,
                                dilation=m.dilation, groups=m.groups)
    padding = m.padding
    if m.padding_mode != "zeros":
        x = C.pad(g, x, m._reversed_padding_repeated_twice, m.padding_mode, 0.0, inp.dim())
        padding = 0
    return C.conv(g, x, w, b, nd=nd, kernel=m.kernel_size, stride=m.stride, padding=padding,
                  dilation=m.dilation, groups=m.groups)


def _affine(g, m):
    w = g.name_of(m.weight) if getattr(m, "weight", None) is not None else None
    b = g.name_of(m.bias) if getattr(m, "bias", None) is not None else None
    return w, b


def _batch_norm(g, m, x, inp, out):
    if m.training or m.running_mean is None:
        raise UnsupportedOperatorError(f"ONNX export: {type(m).__name__} without running statistics "
                                       "(track_running_stats=False) uses batch statistics")
    w, b = _affine(g, m)
    return C.batch_norm(g, x, w, b, g.name_of(m.running_mean), g.name_of(m.running_var), m.eps,
                        m.num_features)


def _instance_norm(g, m, x, inp, out):
    w, b = _affine(g, m)
    if m.track_running_stats and not m.training:
        return C.batch_norm(g, x, w, b, g.name_of(m.running_mean), g.name_of(m.running_var),
                            m.eps, m.num_features)
    return C.instance_norm(g, x, w, b, m.eps, m.num_features)


def _group_norm(g, m, x, inp, out):
    w, b = _affine(g, m)
    return C.group_norm(g, x, w, b, m.num_groups, m.eps, inp.dim())


def _layer_norm(g, m, x, inp, out):
    w, b = _affine(g, m)
    return C.layer_norm(g, x, w, b, m.normalized_shape, m.eps)


def _act(kind, **attrs):
    def convert(g, m, x, inp, out):
        return C.activation(g, kind, x, **{k: getattr(m, a) for k, a in attrs.items()})
    return convert


def _pool(kind):
    def convert(g, m, x, inp, out):
        nd = int(type(m).__name__[-2])  # MaxPool2d -> 2
        extra = (dict(dilation=m.dilation, return_indices=m.return_indices) if kind == "max" else
                 dict(count_include_pad=m.count_include_pad, divisor_override=m.divisor_override))
        return C.pool(g, kind, x, nd=nd, kernel_size=m.kernel_size, stride=m.stride,
                      padding=m.padding, ceil_mode=m.ceil_mode, **extra)
    return convert


def _adaptive(kind):
    def convert(g, m, x, inp, out):
        if getattr(m, "return_indices", False):
            raise UnsupportedOperatorError("ONNX export: adaptive max pooling with return_indices")
        return C.adaptive_pool(g, kind, x, inp.shape, out.shape, int(type(m).__name__[-2]))
    return convert


def _upsample(g, m, x, inp, out):
    return C.resize(g, x, size=m.size, scale_factor=m.scale_factor, mode=m.mode,
                    align_corners=m.align_corners, recompute_scale_factor=m.recompute_scale_factor,
                    antialias=False, in_shape=inp.shape, out_shape=out.shape)


def _padding(g, m, x, inp, out):
    mode = "constant" if isinstance(m, M.padding._ConstantPadNd) else m._mode
    return C.pad(g, x, m.padding, mode, getattr(m, "value", 0.0), inp.dim())


def _identity(g, m, x, inp, out):
    if m.training and isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
        raise UnsupportedOperatorError(f"ONNX export: {type(m).__name__} in training mode")
    return x


def _flatten(g, m, x, inp, out):
    return C.flatten(g, x, m.start_dim, m.end_dim, inp.shape, out.shape)


def _unflatten(g, m, x, inp, out):
    return C.reshape(g, x, inp.shape, out.shape)


def _linear(g, m, x, inp, out):
    b = g.name_of(m.bias) if m.bias is not None else None
    return C.linear(g, x, g.name_of(m.weight), b, inp.dim())


def _softmax2d(g, m, x, inp, out):
    return C.activation(g, "softmax", x, dim=-3)


M = nn.modules
CONVERTERS = [
    (M.conv._ConvNd, _conv),
    (M.normalization._BatchNorm, _batch_norm),
    (M.normalization._InstanceNorm, _instance_norm),
    (nn.GroupNorm, _group_norm),
    (nn.LayerNorm, _layer_norm),
    (nn.ReLU, _act("relu")), (nn.ReLU6, _act("relu6")), (nn.Sigmoid, _act("sigmoid")),
    (nn.Tanh, _act("tanh")), (nn.SiLU, _act("silu")),
    (nn.LeakyReLU, _act("leaky_relu", negative_slope="negative_slope")),
    (nn.CELU, None), (nn.ELU, _act("elu", alpha="alpha")),
    (nn.GELU, _act("gelu", approximate="approximate")),
    (nn.Softplus, _act("softplus", beta="beta", threshold="threshold")),
    (nn.Hardtanh, _act("hardtanh", min_val="min_val", max_val="max_val")),
    (nn.Softmax, _act("softmax", dim="dim")), (nn.LogSoftmax, _act("log_softmax", dim="dim")),
    (nn.Softmax2d, _softmax2d),
    (M.pooling._MaxPoolNd, _pool("max")), (M.pooling._AvgPoolNd, _pool("avg")),
    (M.pooling._AdaptiveAvgPoolNd, _adaptive("avg")), (M.pooling._AdaptiveMaxPoolNd, _adaptive("max")),
    (nn.Upsample, _upsample),
    (M.padding._PadNd, _padding),
    (M.dropout._DropoutNd, _identity), (nn.Identity, _identity),
    (nn.Flatten, _flatten), (nn.Unflatten, _unflatten),
    (nn.Linear, _linear),
]


def find_converter(module):
    """The converter for ``module`` (exact known class or subclass), else None."""
    for cls, fn in CONVERTERS:
        if isinstance(module, cls):
            # a user subclass with its own forward is traced op by op instead
            if not type(module).forward.__module__.startswith("autograd.nn"):
                return None
            return fn
    return None
