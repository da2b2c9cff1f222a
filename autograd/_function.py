"""User-defined differentiable functions (``autograd.Function``)."""
from __future__ import annotations

import numpy as np

from ._grad_mode import is_grad_enabled, no_grad
from ._node import Node
from ._tensor import Tensor

_make = Tensor._make


class FunctionCtx(Node):
    """The ``ctx`` of a custom Function: also its node in the graph."""

    def mark_non_differentiable(self, *tensors) -> None:
        self.__dict__.setdefault("_non_diff", set()).update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    def name(self) -> str:
        return self.__dict__.get("_fn_name", "FunctionBackward")

    def backward(self, *grads):
        fn = self._fn_cls
        if not self.__dict__.get("_materialize", True):
            grads = tuple(None if g is not None and not np.any(g._data) else g for g in grads)
        result = fn.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) < n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        result = result[:n] if all(r is None for r in result[n:]) else result
        if len(result) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        out = []
        for g, (nxt, _), shape in zip(result, self.next_functions, self._in_shapes):
            if g is not None and not isinstance(g, Tensor):
                g = _make(np.asarray(g))
            if g is not None and nxt is not None and g._data.shape != shape:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(shape)}")
            out.append(g if nxt is not None else None)
        return tuple(out)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_name = name + "Backward"


class Function(metaclass=_FunctionMeta):
    """Base class for custom ops: define ``forward(ctx, ...)`` and ``backward(ctx, ...)``.

    Examples
    --------
    >>> import autograd as torch
    >>> class MyReLU(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.clamp(min=0)
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * (x > 0).float()
    >>> x = torch.tensor([-1.0, 2.0], requires_grad=True)
    >>> MyReLU.apply(x).sum().backward()
    >>> x.grad.tolist()
    [0.0, 1.0]
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx.__new__(FunctionCtx)
        ctx._fn_cls = cls
        ctx._fn_name = cls._backward_name
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = is_grad_enabled() and any(ctx.needs_input_grad)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        if not record:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        ctx.next_functions = tuple(a._grad_edge() if isinstance(a, Tensor) else (None, 0) for a in args)
        ctx._in_shapes = tuple(a._data.shape if isinstance(a, Tensor) else () for a in args)
        ctx.num_outputs = len(outs)
        ctx._out_shapes = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None)
                           for o in outs]
        non_diff = ctx.__dict__.get("_non_diff", set())
        wrapped = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            if id(o) in non_diff or o._data.dtype.kind not in "fc":
                wrapped.append(_make(o._data, False, version=o._version))
            else:
                wrapped.append(_make(o._data, True, ctx, i, version=o._version))
        return wrapped[0] if single else tuple(wrapped)


class once_differentiable:  # noqa: N801 - PyTorch's name
    """Decorator kept for API compatibility (backward runs without create_graph)."""

    def __new__(cls, fn):
        return fn
