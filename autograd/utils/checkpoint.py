"""Activation checkpointing: recompute a block in backward instead of storing it."""
from __future__ import annotations

from .._creation import default_generator
from .._engine import backward as _backward
from .._grad_mode import enable_grad, is_grad_enabled, no_grad
from .._node import Node
from .._tensor import Tensor

_make = Tensor._make


class CheckpointFunctionBackward(Node):
    def backward(self, *grads):
        d = self.__dict__
        fn, args, kwargs, rng = d["fn"], d["args"], d["kwargs"], d["rng"]
        detached = [a.detach().requires_grad_(a._requires_grad) if isinstance(a, Tensor) else a
                    for a in args]
        current = default_generator.get_state()
        if rng is not None:
            default_generator.set_state(rng)  # same dropout masks as the first forward
        try:
            with enable_grad():
                outs = fn(*detached, **kwargs)
        finally:
            default_generator.set_state(current)
        outs = (outs,) if isinstance(outs, Tensor) else tuple(outs)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o._requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        return tuple(a.grad if isinstance(a, Tensor) and a._requires_grad else None
                     for a in detached)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state: bool = True, **kwargs):
    """Run ``function(*args)`` without storing its activations; recompute them in backward.

    Gradients equal those of the plain call, including parameters used inside
    ``function`` (they are accumulated during the recomputation). As with
    PyTorch's reentrant checkpoint, at least one tensor input must require
    grad for the output to require grad.
    """
    rng = default_generator.get_state() if preserve_rng_state else None
    with no_grad():
        outs = function(*args, **kwargs)
    if not (is_grad_enabled() and any(isinstance(a, Tensor) and a._requires_grad for a in args)):
        return outs
    single = isinstance(outs, Tensor)
    seq = (outs,) if single else tuple(outs)
    node = CheckpointFunctionBackward.__new__(CheckpointFunctionBackward)
    node.fn, node.args, node.kwargs, node.rng = function, args, kwargs, rng
    node.next_functions = tuple(a._grad_edge() if isinstance(a, Tensor) else (None, 0) for a in args)
    node.num_outputs = len(seq)
    node._out_shapes = [(o._data.shape, o._data.dtype) for o in seq]
    wrapped = tuple(_make(o._data, o._data.dtype.kind == "f", node if o._data.dtype.kind == "f" else None, i)
                    for i, o in enumerate(seq))
    return wrapped[0] if single else wrapped


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):  # noqa: A002
    """Checkpoint a sequence of modules in ``segments`` chunks."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(1, -(-len(functions) // segments))

    def run(start, end):
        def f(x):
            for m in functions[start:end]:
                x = m(x)
            return x
        return f

    x = input
    for start in range(0, len(functions), size):
        x = checkpoint(run(start, start + size), x)
    return x
