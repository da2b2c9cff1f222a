"""``load``: an ONNX graph of the supported ops as an engine ``Module``.

The module interprets the graph node by node in ``forward``. Weights become
Parameters (so the model fine-tunes), BatchNormalization statistics become
buffers, and ``train()``/``eval()`` switch BatchNormalization and Dropout
as in the engine's own layers.
"""
from __future__ import annotations

import os
import re

import numpy as np

from .. import nn
from ..nn import functional as F
from ._graph import UnsupportedOperatorError
from . import _import_ops as O
from ._import_ops import _T, _np, Tensor, _unsupported


def _both_np(*vs):
    return all(v is None or not isinstance(v, Tensor) for v in vs)


def _binary(tensor_fn, np_fn):
    def run(m, node, attrs, a, b):
        if _both_np(a, b):
            return np_fn(_np(a), _np(b))
        return tensor_fn(_T(a), _T(b))
    return run


def _unary(fn):
    return lambda m, node, attrs, x: fn(_T(x))


def _reshape(m, node, attrs, x, shape):
    shape = [int(s) for s in _np(shape)]
    src = x.shape
    if not attrs.get("allowzero", 0):
        shape = [src[i] if s == 0 else s for i, s in enumerate(shape)]
    return _np(x).reshape(shape) if _both_np(x) else x.reshape(*shape)


def _flatten(m, node, attrs, x):
    axis = attrs.get("axis", 1) % max(x.dim(), 1) if x.dim() else 0
    lead = int(np.prod(x.shape[:axis])) if axis else 1
    return x.reshape(lead, -1)


def _axes(attrs, axes):
    if axes is not None:
        return [int(a) for a in _np(axes).reshape(-1)]
    return attrs.get("axes")


def _squeeze(m, node, attrs, x, axes=None):
    ax = _axes(attrs, axes)
    if _both_np(x):
        return np.squeeze(_np(x), axis=None if ax is None else tuple(ax))
    dims = [i for i, s in enumerate(x.shape) if s == 1] if ax is None else [a % x.dim() for a in ax]
    for d in sorted(dims, reverse=True):
        x = x.squeeze(d)
    return x


def _unsqueeze(m, node, attrs, x, axes=None):
    ax = _axes(attrs, axes)
    out_rank = (x.ndim if _both_np(x) else x.dim()) + len(ax)
    for a in sorted(a % out_rank for a in ax):
        x = np.expand_dims(x, a) if _both_np(x) else x.unsqueeze(a)
    return x


def _transpose(m, node, attrs, x):
    perm = attrs.get("perm") or list(range(x.dim() - 1, -1, -1))
    return np.transpose(x, perm) if _both_np(x) else x.permute(*perm)


def _concat(m, node, attrs, *xs):
    axis = attrs["axis"]
    if _both_np(*xs):
        return np.concatenate([_np(x) for x in xs], axis=axis)
    import autograd
    return autograd.cat([_T(x) for x in xs], dim=axis)


def _softmax(kind):
    def run(m, node, attrs, x):
        fn = F.softmax if kind == "softmax" else F.log_softmax
        return fn(x, dim=attrs.get("axis", -1))
    return run


def _clip(m, node, attrs, x, lo=None, hi=None):
    lo = float(_np(lo)) if lo is not None and np.size(_np(lo)) else attrs.get("min")
    hi = float(_np(hi)) if hi is not None and np.size(_np(hi)) else attrs.get("max")
    return x.clamp(min=lo, max=hi)


def _dropout(m, node, attrs, x, ratio=None, training_mode=None):
    p = float(_np(ratio)) if ratio is not None else attrs.get("ratio", 0.5)
    return F.dropout(x, p=p, training=m.training)


def _gather(m, node, attrs, data, idx):
    if not _both_np(data, idx):
        raise _unsupported(node, "gather on float tensors")
    return np.take(_np(data), _np(idx), axis=attrs.get("axis", 0))


def _slice(m, node, attrs, data, starts, ends, axes=None, steps=None):
    arr = data
    starts, ends = _np(starts).tolist(), _np(ends).tolist()
    axes = _np(axes).tolist() if axes is not None else list(range(len(starts)))
    steps = _np(steps).tolist() if steps is not None else [1] * len(starts)
    idx = [slice(None)] * (arr.ndim if _both_np(arr) else arr.dim())
    for s, e, a, st in zip(starts, ends, axes, steps):
        big = 2 ** 62
        idx[a] = slice(None if abs(s) >= big else s, None if abs(e) >= big else e, st)
    return _np(arr)[tuple(idx)] if _both_np(arr) else arr[tuple(idx)]


def _cast(m, node, attrs, x):
    from onnx import helper
    dt = np.dtype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
    if _both_np(x):
        return _np(x).astype(dt)
    if dt.kind == "f":
        return x.float()
    return x.detach().numpy().astype(dt)


def _constant_of_shape(m, node, attrs, shape):
    from onnx import numpy_helper
    val = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
    return np.full([int(s) for s in _np(shape)], val.reshape(-1)[0], dtype=val.dtype)


OPS = {
    "Conv": O.conv, "ConvTranspose": O.conv_transpose, "BatchNormalization": O.batch_norm,
    "InstanceNormalization": O.instance_norm, "LayerNormalization": O.layer_norm, "Gemm": O.gemm,
    "MaxPool": O.pool("max"), "AveragePool": O.pool("avg"),
    "GlobalAveragePool": O.global_pool("avg"), "GlobalMaxPool": O.global_pool("max"),
    "Resize": O.resize, "Pad": O.pad,
    # F.* looked up per call (not bound here) so a traced re-export sees the calls
    "Relu": _unary(lambda x: F.relu(x)), "Sigmoid": _unary(lambda x: F.sigmoid(x)),
    "Tanh": _unary(lambda x: F.tanh(x)), "Softplus": _unary(lambda x: F.softplus(x)),
    "Erf": _unary(lambda x: x.erf()), "Exp": _unary(lambda x: x.exp()),
    "Log": _unary(lambda x: x.log()), "Sqrt": _unary(lambda x: x.sqrt()), "Neg": _unary(lambda x: -x),
    "LeakyRelu": lambda m, n, a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Elu": lambda m, n, a, x: F.elu(x, a.get("alpha", 1.0)),
    "Softmax": _softmax("softmax"), "LogSoftmax": _softmax("log_softmax"), "Clip": _clip,
    "Add": _binary(lambda a, b: a + b, np.add), "Sub": _binary(lambda a, b: a - b, np.subtract),
    "Mul": _binary(lambda a, b: a * b, np.multiply),
    "Div": _binary(lambda a, b: a / b, lambda a, b: a // b if a.dtype.kind in "iu" else a / b),
    "MatMul": _binary(lambda a, b: a @ b, np.matmul),
    "Concat": _concat, "Reshape": _reshape, "Flatten": _flatten, "Transpose": _transpose,
    "Squeeze": _squeeze, "Unsqueeze": _unsqueeze, "Identity": lambda m, n, a, x: x,
    "Dropout": _dropout, "Shape": lambda m, n, a, x: np.asarray(x.shape, dtype=np.int64),
    "Gather": _gather, "Slice": _slice, "Cast": _cast, "ConstantOfShape": _constant_of_shape,
}


_WEIGHT_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div",
               "BatchNormalization", "InstanceNormalization", "LayerNormalization", "Unsqueeze",
               "Transpose", "Reshape", "Concat"}
_FIRST_ONLY = {"Unsqueeze", "Transpose", "Reshape"}


class ONNXModule(nn.Module):
    """An ONNX graph run by the engine; weights are this module's Parameters."""

    def __init__(self, model):
        super().__init__()
        from onnx import helper, numpy_helper

        graph = model.graph
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx") and imp.version < 13:
                raise UnsupportedOperatorError(f"ONNX import: opset {imp.version} is too old "
                                               "(13 or newer)")
        inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        stats = {n.input[i] for n in graph.node if n.op_type == "BatchNormalization"
                 for i in (3, 4) if len(n.input) > i}
        # weights: float tensors fed to compute ops (not Resize scales, Clip bounds, ...)
        weighty = {n.input[i] for n in graph.node for i in range(len(n.input))
                   if n.op_type in _WEIGHT_OPS and (i == 0 or n.op_type not in _FIRST_ONLY)}
        self._slots: dict[str, str] = {}  # ONNX name -> attribute name
        self._consts: dict[str, np.ndarray] = {}
        for name, arr in inits.items():
            attr = self._attr_name(name)
            if arr.dtype.kind == "f" and name in stats:
                self.register_buffer(attr, _T(arr.astype(np.float32)))
            elif arr.dtype.kind == "f" and arr.ndim > 0 and name in weighty:
                self.register_parameter(attr, nn.Parameter(_T(arr.astype(np.float32))))
            else:
                self._consts[name] = arr
                continue
            self._slots[name] = attr
        self._nodes = []
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedOperatorError(f"ONNX import: op {node.domain}.{node.op_type} "
                                               "(custom domain) is not supported")
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
            if node.op_type == "Constant":
                self._consts[node.output[0]] = _constant_value(node, attrs)
                continue
            if node.op_type not in OPS:
                raise UnsupportedOperatorError(
                    f"ONNX import: unsupported op {node.op_type} (node {node.name!r}); supported: "
                    + ", ".join(sorted(OPS)))
            self._nodes.append((node, attrs))
        known = set(inits) | set(self._consts)
        self.input_names = [i.name for i in graph.input if i.name not in known]
        self.output_names = [o.name for o in graph.output]

    def _attr_name(self, name: str) -> str:
        attr = re.sub(r"\W", "_", name).strip("_") or "w"
        attr = "p_" + attr if attr[0].isdigit() else attr
        while attr in self._slots.values() or hasattr(self, attr):
            attr += "_"
        return attr

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"ONNX model expects {len(self.input_names)} input(s) "
                             f"{self.input_names}, got {len(inputs)}")
        env = dict(self._consts)
        for name, attr in self._slots.items():
            env[name] = getattr(self, attr)
        env.update(zip(self.input_names, (_T(x) for x in inputs)))
        for node, attrs in self._nodes:
            args = [env[i] if i else None for i in node.input]
            out = OPS[node.op_type](self, node, attrs, *args)
            outs = out if isinstance(out, tuple) else (out,)
            for name, value in zip(node.output, outs):
                if name:
                    env[name] = value
        outs = [_T(env[o]) for o in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)


def _constant_value(node, attrs):
    from onnx import numpy_helper
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dt in (("value_float", np.float32), ("value_int", np.int64),
                    ("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return np.asarray(attrs[key], dtype=dt)
    raise _unsupported(node, f"constant of kind {sorted(attrs)}")


def load(source) -> ONNXModule:
    """Import an ONNX model as an engine Module.

    Parameters
    ----------
    source : str, os.PathLike, bytes or onnx.ModelProto

    Returns
    -------
    ONNXModule
        In eval mode; call ``.train()`` to fine-tune.

    Raises
    ------
    UnsupportedOperatorError
        For ops outside the supported set (named in the message).
    """
    from ._export import _require_onnx
    onnx = _require_onnx()
    if isinstance(source, (str, os.PathLike)):
        model = onnx.load(os.fspath(source))
    elif isinstance(source, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(source))
    else:
        model = source
    onnx.checker.check_model(model)
    return ONNXModule(model).eval()
