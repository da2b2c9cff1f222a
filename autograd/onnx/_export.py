"""``export``: an engine Module to an ONNX file, shaped like ``torch.onnx.export``."""
from __future__ import annotations

import io
import os
import tempfile

from .._grad_mode import enable_grad
from .._tensor import Tensor
from ._graph import UnsupportedOperatorError


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export/import needs the 'onnx' package "
                          "(pip install 'bioimg[export]')") from None
    return onnx


def _value_info(onnx, name, shape, dyn: dict):
    dims = [dyn.get(i, s) for i, s in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)


def _dynamic(spec, name) -> dict:
    axes = (spec or {}).get(name, {})
    if isinstance(axes, (list, tuple)):
        return {int(a): f"{name}_dim{a}" for a in axes}
    return {int(a): str(n) for a, n in axes.items()}


def export(module, args, f, export_params: bool = True, verbose: bool = False, training=None,
           input_names=None, output_names=None, opset_version: int | None = 17,
           dynamic_axes=None, do_constant_folding: bool = True, **unused):
    """Export ``module`` to ONNX by running it once on ``args``.

    Parameters
    ----------
    module : autograd.nn.Module
        Exported in eval mode (its mode is restored afterwards).
    args : Tensor or tuple of Tensor
        Example inputs; their shapes fix the non-dynamic axes.
    f : str, os.PathLike or binary file
        Destination. A path is written atomically.
    input_names, output_names : list of str, optional
        Graph value names (default ``input``/``output`` with ``_1``... suffixes).
    opset_version : int
        ONNX opset (17 or newer).
    dynamic_axes : dict, optional
        ``{name: {axis: dim_name}}`` or ``{name: [axes]}`` as in torch.

    Returns
    -------
    onnx.ModelProto
        The checked model (also written to ``f``).

    Raises
    ------
    UnsupportedOperatorError
        When the forward uses an op without an ONNX converter (the op is named).
    """
    onnx = _require_onnx()
    opset = int(opset_version or 17)
    if opset < 17:
        raise ValueError(f"opset_version must be >= 17, got {opset}")
    from ._trace import trace

    inputs = args if isinstance(args, tuple) else (args,)
    if not inputs or not all(isinstance(t, Tensor) for t in inputs):
        raise TypeError("ONNX export: args must be a Tensor or a tuple of Tensors")
    inputs = tuple(t.detach().float().requires_grad_(True) for t in inputs)
    in_names = list(input_names or [])
    in_names += [f"input_{i}" if i else "input" for i in range(len(in_names), len(inputs))]
    was_training = module.training
    module.train(bool(training)) if training is not None else module.eval()
    try:
        with enable_grad():
            tracer, outs = trace(module, inputs, in_names, opset)
    finally:
        module.train(was_training)
    g = tracer.g
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    out_names = list(output_names or [])
    out_names += [f"output_{i}" if i else "output" for i in range(len(out_names), len(outs))]
    graph_inputs = [_value_info(onnx, n, t.shape, _dynamic(dynamic_axes, n))
                    for n, t in zip(in_names, inputs)]
    graph_outputs = []
    for name, t in zip(out_names, outs):
        if not isinstance(t, Tensor):
            raise UnsupportedOperatorError(f"ONNX export: forward returned {type(t).__name__}")
        g.op("Identity", [tracer.name_of(t)], [g.reserve(name)])
        graph_outputs.append(_value_info(onnx, name, t.shape, _dynamic(dynamic_axes, name)))
    inits = g.initializers if export_params else []
    graph = onnx.helper.make_graph(g.nodes, type(module).__name__, graph_inputs, graph_outputs, inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="autograd", producer_version="1")
    model.ir_version = min(model.ir_version, _min_ir(onnx, opset))
    onnx.checker.check_model(model, full_check=True)
    _save(model, f)
    return model


def _min_ir(onnx, opset: int) -> int:
    # consumers with older runtimes read the lowest IR version that carries the opset
    table = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}
    return table.get(opset, onnx.IR_VERSION)


def _save(model, f) -> None:
    data = model.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)) or ".",
                                   prefix=".onnx-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"ONNX export: f must be a path or a binary file, got {type(f).__name__}")


__all__ = ["export"]
