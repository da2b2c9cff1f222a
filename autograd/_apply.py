"""Running a primitive op: forward on arrays, then record a graph node."""
from __future__ import annotations

from ._grad_mode import _state
from ._tensor import Tensor

_make = Tensor._make


def apply(cls, inputs: tuple, *args) -> Tensor:
    """Run op ``cls`` on ``inputs`` (Tensors); ``args`` are non-tensor parameters.

    ``cls.forward(self, *arrays, *args)`` computes the result array and may
    store what backward needs on ``self``. Ops that need their input tensors
    for backward list their positions in ``cls.save_inputs``; ops that need
    their output set ``cls.saves_output``.
    """
    node = cls.__new__(cls)
    out = node.forward(*[t._data for t in inputs], *args)
    if _state.enabled and out.dtype.kind in "fc":  # int/bool results: no grad
        for t in inputs:
            if t._requires_grad:
                break
        else:
            return _make(out)
        node.next_functions = tuple([t._grad_edge() for t in inputs])
        save = node.save_inputs
        if save:
            node.save_for_backward(*[inputs[i] for i in save])
        result = _make(out, True, node)
        if cls.saves_output:
            node._out = out
            node._out_meta = ((result._version, 0),)
        return result
    return _make(out)


def apply_view(cls, x: Tensor, *args) -> Tensor:
    """Like ``apply`` for ops whose result is a numpy view of ``x``.

    The result shares ``x``'s version counter, so an in-place change through
    either is seen by nodes that saved the other (as PyTorch's views do).
    """
    out = apply(cls, (x,), *args)
    out._version = x._version
    if out.grad_fn is not None and cls.saves_output:
        out.grad_fn._out_meta = ((x._version, x._version[0]),)
    out._base = x if x._base is None else x._base
    if _state.enabled:  # views made in grad mode follow in-place changes
        parent = x.__dict__.get("_view_fn") if x._base is not None else None

        def view_fn(base):  # replays the view chain from the base
            return apply(cls, (base if parent is None else parent(base),), *args)
        out._view_fn = view_fn
        out._view_version = x._version[0]
    return out
