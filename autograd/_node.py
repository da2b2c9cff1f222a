"""Graph nodes: the ``grad_fn`` objects that backward walks.

Every differentiable op is a ``Node`` subclass with ``forward`` over numpy
arrays and ``backward`` over Tensors, written with differentiable ops
(Chainer's FunctionNode idea), so higher-order gradients need no extra code.
Outputs are saved as data plus a reconstruction recipe, never as the output
Tensor itself, so no reference cycle keeps big activations alive.
"""
from __future__ import annotations

import weakref

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the graph "
    "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
    "you need to backward through the graph a second time or if you need to access saved "
    "tensors after calling backward."
)


class Node:
    """A recorded operation in the autograd graph (``tensor.grad_fn``)."""

    __slots__ = ("next_functions", "_saved", "_versions", "_out", "_out_meta", "__dict__", "__weakref__")
    # Rarely set state lives in __dict__ with class defaults, so the engine reads
    # it without the cost of a failed slot lookup on every node.
    _freed = False
    _pre_hooks = None
    _retained = None
    _post_hooks = None
    num_outputs = 1
    # True when backward (without create_graph) returns newly allocated arrays
    # that nothing else references: a leaf may then keep one as its .grad
    # instead of copying it.
    fresh_grads = False
    saves_output = False
    save_inputs: tuple = ()

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    # -- saved tensors --------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._versions = tuple(None if t is None else t._version[0] for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        saved = getattr(self, "_saved", ())
        for t, v in zip(saved, self._versions):
            if t is not None and t._version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype} {list(t.shape)}], which is used by "
                    f"{self.name()}, is at version {t._version[0]}; expected version {v} "
                    "instead. Hint: replace the in-place operation by an out-of-place one.")
        return saved

    def output(self, index: int = 0):
        """The op's forward output, rebuilt as a Tensor attached to this node."""
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        from ._tensor import Tensor
        from ._grad_mode import is_grad_enabled
        data = self._out if self.num_outputs == 1 else self._out[index]
        version, seen = self._out_meta[index]
        if version[0] != seen:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: output {index} of {self.name()} is at version {version[0]}; "
                f"expected version {seen} instead.")
        if is_grad_enabled():
            return Tensor._make(data, True, self, index)
        return Tensor._make(data, False)

    def release(self) -> None:
        """Free saved tensors after a backward without ``retain_graph``."""
        self._saved = ()
        self._out = None
        d = self.__dict__
        if d:
            d.clear()
        self._freed = True

    # -- hooks ----------------------------------------------------------
    def register_hook(self, fn):
        """Hook ``fn(grad_inputs, grad_outputs)`` run after this node's backward."""
        hooks = self._post_hooks
        if hooks is None:
            hooks = self._post_hooks = []
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    def register_prehook(self, fn):
        """Hook ``fn(grad_outputs)`` run before this node's backward."""
        return self._add_pre_hook(None, fn)

    def _add_pre_hook(self, index, fn):
        hooks = self._pre_hooks
        if hooks is None:
            hooks = self._pre_hooks = []
        entry = (index, fn)
        hooks.append(entry)
        return _RemovableHandle(hooks, entry)

    def _retain(self, index, tensor) -> None:
        r = self._retained
        if r is None:
            r = self._retained = {}
        r[index] = weakref.ref(tensor)

    def backward(self, *grads):  # pragma: no cover - every op overrides
        raise NotImplementedError(f"{self.name()} has no backward")

    @property
    def metadata(self) -> dict:
        return self.__dict__


class AccumulateGrad(Node):
    """Sink node of a leaf tensor: adds the incoming gradient to ``leaf.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()


class _RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook."""

    __slots__ = ("_list", "_item")

    def __init__(self, lst, item):
        self._list, self._item = lst, item

    def remove(self) -> None:
        try:
            self._list.remove(self._item)
        except ValueError:
            pass
