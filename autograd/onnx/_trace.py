"""Trace a define-by-run forward once and collect ONNX nodes.

Known layers (``_modules.CONVERTERS``) are converted whole through forward
hooks; functions and Tensor methods called directly in a ``forward``
(``torch.cat``, ``x + y``, ``F.interpolate`` ...) are intercepted by
temporarily wrapping them. Only the outermost call is recorded: ops run
inside a converted layer or function are its implementation. A tensor that
reaches a recorded op without having been produced by one came from an op
the exporter does not know; its ``grad_fn`` names that op in the error.
"""
from __future__ import annotations

import inspect
import threading

import numpy as np

from .._tensor import Tensor
from ._functions import HANDLERS, TENSOR_NAMES, TORCH_NAMES
from ._graph import GraphBuilder, UnsupportedOperatorError
from ._modules import find_converter

_LOCK = threading.Lock()
_ACTIVE: list = [None]  # the running tracer (one export at a time)


class Tracer:
    def __init__(self, module, opset: int):
        self.values: dict[int, str] = {}
        self.keep: list = []  # holds traced tensors so their ids stay unique
        self.depth = 0
        self.stack: list[bool] = []
        self.named = {id(p): n for n, p in module.named_parameters()}
        self.named.update({id(b): n for n, b in module.named_buffers()})
        self.g = GraphBuilder(opset, self.name_of)
        # only the exporting thread is traced: a model used elsewhere at the same time (a GUI
        # worker predicting) runs its ops untouched
        self.thread = threading.get_ident()

    def bind(self, tensor, name: str) -> None:
        self.values[id(tensor)] = name
        self.keep.append(tensor)

    def name_of(self, t) -> str:
        if not isinstance(t, Tensor):
            raise UnsupportedOperatorError(f"ONNX export: expected a tensor, got {type(t).__name__}")
        key = id(t)
        if key in self.values:
            return self.values[key]
        if key in self.named:  # parameter or buffer: an initializer named after it
            name = self.g.fresh(self.named[key])
            from onnx import numpy_helper
            arr = np.ascontiguousarray(t.detach().numpy().astype(np.float32, copy=False))
            self.g.initializers.append(numpy_helper.from_array(arr, name))
            self.bind(t, name)
            return name
        if t.grad_fn is not None:
            raise UnsupportedOperatorError(
                f"ONNX export: unsupported operation {t.grad_fn.name()} (producing a tensor of shape "
                f"{list(t.shape)}); use layers/functions the exporter knows or file an issue")
        name = self.g.const(t.detach().numpy(), "const",
                            np.float32 if t.dtype.kind == "f" else t.numpy().dtype)
        self.bind(t, name)
        return name

    # -- interception ---------------------------------------------------
    def pre_hook(self, module, args):
        if threading.get_ident() != self.thread:
            return
        captured = self.depth == 0
        self.stack.append(captured)
        if captured:
            self.depth += 1

    def post_hook(self, module, args, out):
        if threading.get_ident() != self.thread or not self.stack.pop():
            return
        self.depth -= 1
        if not isinstance(out, Tensor) or not args or not isinstance(args[0], Tensor):
            raise UnsupportedOperatorError(f"ONNX export: layer {type(module).__name__} must take "
                                           "and return a single tensor")
        name = find_converter(module)(self.g, module, self.name_of(args[0]), args[0], out)
        self.bind(out, name)

    def call(self, name, fn, sig, args, kwargs):
        if self.depth:
            return fn(*args, **kwargs)
        self.depth += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        handler = HANDLERS.get(name)
        if handler is None:
            raise UnsupportedOperatorError(f"ONNX export: unsupported function {name!r}")
        if not isinstance(out, Tensor):
            raise UnsupportedOperatorError(f"ONNX export: {name} returned {type(out).__name__}, "
                                           "not a single tensor")
        a = {}
        if sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                a = dict(bound.arguments)
            except TypeError:
                a = {}
        a["_pos"] = list(args)
        self.bind(out, handler(self.g, a, out))
        return out


def _wrap(name, fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None

    def wrapper(*args, **kwargs):
        tracer = _ACTIVE[0]
        if tracer is None or threading.get_ident() != tracer.thread:
            return fn(*args, **kwargs)
        return tracer.call(name, fn, sig, args, kwargs)
    wrapper.__wrapped__ = fn
    return wrapper


def _patch_targets():
    import autograd
    import autograd.nn.functional as F

    targets = [(Tensor, n) for n in TENSOR_NAMES if n in vars(Tensor)]
    targets += [(autograd, n) for n in TORCH_NAMES if hasattr(autograd, n)]
    targets += [(F, n) for n in dir(F) if not n.startswith("_") and inspect.isfunction(getattr(F, n))]
    return targets


def trace(module, inputs: tuple, names: list[str], opset: int):
    """Run ``module(*inputs)`` once, returning (tracer, outputs)."""
    tracer = Tracer(module, opset)
    for t, name in zip(inputs, names):
        tracer.bind(t, tracer.g.reserve(name))
    with _LOCK:
        saved = []
        handles = []
        try:
            for owner, n in _patch_targets():
                orig = vars(owner)[n] if isinstance(owner, type) else getattr(owner, n)
                saved.append((owner, n, orig))
                setattr(owner, n, _wrap(n, orig))
            for m in module.modules():
                if find_converter(m) is not None:
                    handles.append(m.register_forward_pre_hook(tracer.pre_hook))
                    handles.append(m.register_forward_hook(tracer.post_hook))
            _ACTIVE[0] = tracer
            outputs = module(*inputs)
        finally:
            _ACTIVE[0] = None
            for h in handles:
                h.remove()
            for owner, n, orig in reversed(saved):
                setattr(owner, n, orig)
    return tracer, outputs


__all__ = ["trace", "Tracer"]
