"""Converters for functions and Tensor methods called directly in a ``forward``.

``HANDLERS`` maps a name to ``handler(g, a, out)`` where ``a`` holds the call's
bound arguments (``a["_pos"]`` is the positional list). Names are looked up
in ``autograd.nn.functional``, the ``autograd`` namespace and ``Tensor``.
"""
from __future__ import annotations

import numpy as np

from . import _convert as C
from ._graph import UnsupportedOperatorError


def _t(a, i=0):
    return a["_pos"][i]


def _operand(g, v, like):
    from .._tensor import Tensor
    if isinstance(v, Tensor):
        return g.name_of(v)
    if isinstance(v, (int, float, bool, np.number, np.ndarray)):
        return g.const(np.asarray(v, dtype=like.dtype if like.dtype.kind == "f" else np.float32),
                       "scalar")
    raise UnsupportedOperatorError(f"ONNX export: arithmetic with {type(v).__name__}")


def _binary(op, reverse=False):
    def handler(g, a, out):
        x, y = _t(a, 0), _t(a, 1)
        if out.dtype.kind != "f":
            raise UnsupportedOperatorError(f"ONNX export: {op} on {out.dtype} tensors")
        xs, ys = _operand(g, x, out), _operand(g, y, out)
        alpha = a.get("alpha", 1)
        if alpha not in (None, 1):
            ys = g.op("Mul", [ys, g.const(float(alpha), "alpha")])
        return g.op(op, [ys, xs] if reverse else [xs, ys])
    return handler


def _neg(g, a, out):
    return g.op("Neg", [g.name_of(_t(a))])


def _matmul(g, a, out):
    return g.op("MatMul", [_operand(g, _t(a, 0), out), _operand(g, _t(a, 1), out)])


def _act(kind, *names):
    def handler(g, a, out):
        params = {n: a[n] for n in names if n in a}
        return C.activation(g, kind, g.name_of(_t(a)), **params)
    return handler


def _identity(g, a, out):
    return g.name_of(_t(a))


def _dropout(g, a, out):
    if a.get("training", True) and a.get("p", 0.5) > 0:
        raise UnsupportedOperatorError("ONNX export: dropout with training=True")
    return g.name_of(_t(a))


def _reshape(g, a, out):
    x = _t(a)
    return C.reshape(g, g.name_of(x), x.shape, out.shape)


def _flatten(g, a, out):
    x = _t(a)
    return C.flatten(g, g.name_of(x), a.get("start_dim", 0), a.get("end_dim", -1), x.shape, out.shape)


def _dims(a, key):
    dims = a[key]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    return [int(d) for d in dims]


def _permute(g, a, out):
    x = _t(a)
    perm = [d % x.dim() for d in _dims(a, "dims")]
    return g.op("Transpose", [g.name_of(x)], perm=perm)


def _transpose(g, a, out):
    x = _t(a)
    perm = list(range(x.dim()))
    i, j = a["dim0"] % x.dim(), a["dim1"] % x.dim()
    perm[i], perm[j] = perm[j], perm[i]
    return g.op("Transpose", [g.name_of(x)], perm=perm)


def _squeeze(g, a, out):
    x = _t(a)
    dim = a.get("dim")
    dims = [i for i, s in enumerate(x.shape) if s == 1] if dim is None else \
        [d % x.dim() for d in (dim if isinstance(dim, (list, tuple)) else [dim]) if x.shape[d] == 1]
    if not dims:
        return g.name_of(x)
    return g.op("Squeeze", [g.name_of(x), g.ints(dims, "axes")])


def _unsqueeze(g, a, out):
    x = _t(a)
    return g.op("Unsqueeze", [g.name_of(x), g.ints([a["dim"] % out.dim()], "axes")])


def _cat(g, a, out):
    ts = [t for t in _t(a) if t.numel() > 0 or t.dim() == out.dim()]
    return g.op("Concat", [g.name_of(t) for t in ts], axis=int(a.get("dim", 0)) % out.dim())


def _stack(g, a, out):
    dim = int(a.get("dim", 0)) % out.dim()
    ax = g.ints([dim], "axes")
    return g.op("Concat", [g.op("Unsqueeze", [g.name_of(t), ax]) for t in _t(a)], axis=dim)


def _conv(transposed, nd):
    def handler(g, a, out):
        x, w, b = _t(a), a["weight"], a.get("bias")
        args = dict(nd=nd, kernel=list(w.shape[2:]), stride=a["stride"], padding=a["padding"],
                    dilation=a["dilation"], groups=a["groups"])
        bn = g.name_of(b) if b is not None else None
        if transposed:
            return C.conv_transpose(g, g.name_of(x), g.name_of(w), bn,
                                    output_padding=a["output_padding"], **args)
        return C.conv(g, g.name_of(x), g.name_of(w), bn, **args)
    return handler


def _pool(kind, nd):
    def handler(g, a, out):
        keys = ("kernel_size", "stride", "padding", "ceil_mode", "dilation", "return_indices",
                "count_include_pad", "divisor_override")
        return C.pool(g, kind, g.name_of(_t(a)), nd=nd, **{k: a[k] for k in keys if k in a})
    return handler


def _adaptive(kind, nd):
    def handler(g, a, out):
        if a.get("return_indices"):
            raise UnsupportedOperatorError("ONNX export: adaptive max pooling with return_indices")
        return C.adaptive_pool(g, kind, g.name_of(_t(a)), _t(a).shape, out.shape, nd)
    return handler


def _interpolate(g, a, out):
    x = _t(a)
    return C.resize(g, g.name_of(x), size=a.get("size"), scale_factor=a.get("scale_factor"),
                    mode=a.get("mode", "nearest"), align_corners=a.get("align_corners"),
                    recompute_scale_factor=a.get("recompute_scale_factor"),
                    antialias=a.get("antialias", False), in_shape=x.shape, out_shape=out.shape)


def _pad(g, a, out):
    x = _t(a)
    return C.pad(g, g.name_of(x), a["pad"], a.get("mode", "constant"), a.get("value", 0.0) or 0.0,
                 x.dim())


def _opt(g, t):
    return g.name_of(t) if t is not None else None


def _linear(g, a, out):
    return C.linear(g, g.name_of(_t(a)), g.name_of(a["weight"]), _opt(g, a.get("bias")), _t(a).dim())


def _batch_norm(g, a, out):
    if a.get("training") or a.get("running_mean") is None:
        raise UnsupportedOperatorError("ONNX export: batch_norm with batch statistics (training)")
    return C.batch_norm(g, g.name_of(_t(a)), _opt(g, a.get("weight")), _opt(g, a.get("bias")),
                        g.name_of(a["running_mean"]), g.name_of(a["running_var"]), a["eps"],
                        _t(a).shape[1])


def _group_norm(g, a, out):
    return C.group_norm(g, g.name_of(_t(a)), _opt(g, a.get("weight")), _opt(g, a.get("bias")),
                        a["num_groups"], a["eps"], _t(a).dim())


def _instance_norm(g, a, out):
    if not a.get("use_input_stats", True):
        raise UnsupportedOperatorError("ONNX export: instance_norm with use_input_stats=False")
    return C.instance_norm(g, g.name_of(_t(a)), _opt(g, a.get("weight")), _opt(g, a.get("bias")),
                           a["eps"], _t(a).shape[1])


def _layer_norm(g, a, out):
    return C.layer_norm(g, g.name_of(_t(a)), _opt(g, a.get("weight")), _opt(g, a.get("bias")),
                        a["normalized_shape"], a["eps"])


def _unary_op(op):
    return lambda g, a, out: g.op(op, [g.name_of(_t(a))])


def _clamp(g, a, out):
    lo, hi = a.get("min"), a.get("max")
    ins = [g.name_of(_t(a)), g.const(float(lo), "clip_min") if lo is not None else "",
           g.const(float(hi), "clip_max") if hi is not None else ""]
    return g.op("Clip", ins)


def _tt(g, a, out):
    x = _t(a)
    return g.op("Transpose", [g.name_of(x)], perm=[1, 0]) if x.dim() == 2 else g.name_of(x)


HANDLERS = {
    "erf": _unary_op("Erf"), "exp": _unary_op("Exp"), "log": _unary_op("Log"),
    "sqrt": _unary_op("Sqrt"), "abs": _unary_op("Abs"), "clamp": _clamp, "clip": _clamp, "t": _tt,
    "__add__": _binary("Add"), "__radd__": _binary("Add", True), "add": _binary("Add"),
    "__sub__": _binary("Sub"), "__rsub__": _binary("Sub", True), "sub": _binary("Sub"),
    "__mul__": _binary("Mul"), "__rmul__": _binary("Mul", True), "mul": _binary("Mul"),
    "__truediv__": _binary("Div"), "__rtruediv__": _binary("Div", True), "div": _binary("Div"),
    "__neg__": _neg, "neg": _neg, "__matmul__": _matmul, "matmul": _matmul,
    "relu": _act("relu"), "sigmoid": _act("sigmoid"), "tanh": _act("tanh"), "silu": _act("silu"),
    "leaky_relu": _act("leaky_relu", "negative_slope"), "elu": _act("elu", "alpha"),
    "gelu": _act("gelu", "approximate"), "softplus": _act("softplus", "beta", "threshold"),
    "hardtanh": _act("hardtanh", "min_val", "max_val"), "relu6": _act("relu6"),
    "softmax": _act("softmax", "dim"), "log_softmax": _act("log_softmax", "dim"),
    "dropout": _dropout, "dropout1d": _dropout, "dropout2d": _dropout, "dropout3d": _dropout,
    "alpha_dropout": _dropout, "feature_alpha_dropout": _dropout,
    "contiguous": _identity, "clone": _identity, "float": _identity,
    "view": _reshape, "reshape": _reshape, "flatten": _flatten, "permute": _permute,
    "transpose": _transpose, "squeeze": _squeeze, "unsqueeze": _unsqueeze,
    "cat": _cat, "concat": _cat, "concatenate": _cat, "stack": _stack,
    "interpolate": _interpolate, "upsample": _interpolate, "pad": _pad, "linear": _linear,
    "batch_norm": _batch_norm, "group_norm": _group_norm, "instance_norm": _instance_norm,
    "layer_norm": _layer_norm,
}
for _nd in (1, 2, 3):
    HANDLERS[f"conv{_nd}d"] = _conv(False, _nd)
    HANDLERS[f"conv_transpose{_nd}d"] = _conv(True, _nd)
    HANDLERS[f"max_pool{_nd}d"] = _pool("max", _nd)
    HANDLERS[f"avg_pool{_nd}d"] = _pool("avg", _nd)
    HANDLERS[f"adaptive_avg_pool{_nd}d"] = _adaptive("avg", _nd)
    HANDLERS[f"adaptive_max_pool{_nd}d"] = _adaptive("max", _nd)

TORCH_NAMES = ("erf", "exp", "log", "sqrt", "abs", "clamp", "clip", "add", "sub", "mul", "div", "neg",
               "matmul", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "flatten", "reshape",
               "permute", "transpose", "squeeze", "unsqueeze", "cat", "concat", "concatenate", "stack")
TENSOR_NAMES = ("erf", "exp", "log", "sqrt", "abs", "clamp", "clip", "t", "__add__", "__radd__",
                "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__neg__",
                "__matmul__", "add", "sub", "mul", "div", "neg", "matmul", "relu", "sigmoid", "tanh",
                "softmax", "log_softmax", "contiguous", "clone", "float", "view", "reshape", "flatten",
                "permute", "transpose", "squeeze", "unsqueeze")
