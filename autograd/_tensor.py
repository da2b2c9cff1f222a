"""The Tensor: a numpy array plus the autograd bookkeeping.

Most methods (arithmetic, reductions, shape ops) are attached by
``_tensor_methods`` so that this file holds only the core state.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import _dtype
from ._grad_mode import is_grad_enabled
from ._node import AccumulateGrad, _RemovableHandle


class Tensor:
    """An n-dimensional array that records operations for automatic differentiation.

    Examples
    --------
    >>> import autograd as torch
    >>> x = torch.tensor(2.0, requires_grad=True)
    >>> y = x ** 2 + 3 * x + 1
    >>> y.backward()
    >>> x.grad.item()
    7.0
    """

    __slots__ = ("_data", "grad", "_requires_grad", "grad_fn", "_output_nr", "_version",
                 "_acc", "_hooks", "_retains_grad", "_base", "__weakref__", "__dict__")
    __array_priority__ = 1000  # so ``ndarray * Tensor`` defers to Tensor.__rmul__

    def __init__(self, *data, requires_grad: bool = False, dtype=None):
        """``Tensor(data)`` or ``Tensor(*sizes)`` (zeros): the default float dtype, as ``torch.Tensor``."""
        dtype = _dtype.get_default_dtype() if dtype is None else np.dtype(dtype)
        if len(data) == 1 and not isinstance(data[0], (int, np.integer)):
            arr = _to_array(data[0], dtype)
        else:
            arr = np.zeros(tuple(int(s) for s in data) if data else (0,), dtype=dtype)
        self._init(arr, requires_grad)

    def _init(self, arr, requires_grad=False, grad_fn=None, output_nr=0, version=None):
        self._data = arr
        self.grad = None
        self._requires_grad = requires_grad
        self.grad_fn = grad_fn
        self._output_nr = output_nr
        self._version = version if version is not None else [0]
        self._acc = None
        self._hooks = None
        self._retains_grad = False
        self._base = None
        if requires_grad and grad_fn is None and arr.dtype.kind not in "fc":
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")

    @classmethod
    def _make(cls, arr, requires_grad=False, grad_fn=None, output_nr=0, version=None):
        # Every op result goes through here: the fields are set inline (not via
        # ``_init``) because one extra call per tensor shows in per-op overhead.
        if type(arr) is not np.ndarray:  # numpy scalars (full reductions, x[0]) -> 0-d arrays
            arr = np.asarray(arr)
        t = object.__new__(cls)
        t._data = arr
        t.grad = None
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = version if version is not None else [0]
        t._acc = None
        t._hooks = None
        t._retains_grad = False
        t._base = None
        return t

    # -- autograd state ---------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` on a leaf in place and return it."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def _grad_edge(self):
        """(node, output_nr) that gradients for this tensor flow into."""
        if self._base is not None and self.__dict__.get("_view_version", self._version[0]) != self._version[0]:
            self._refresh_view()
        if self.grad_fn is not None:
            return (self.grad_fn, self._output_nr)
        if not self._requires_grad:
            return (None, 0)
        acc = self._acc() if self._acc is not None else None
        if acc is None:
            acc = AccumulateGrad(self)
            self._acc = weakref.ref(acc)
        return (acc, 0)

    def _refresh_view(self) -> None:
        """The base changed in place since this view was made: rebuild its grad_fn from the base."""
        from ._grad_mode import enable_grad
        base, view_fn = self._base, self.__dict__["_view_fn"]
        self._view_version = self._version[0]
        if base._requires_grad and np.may_share_memory(self._data, base._data):
            with enable_grad():
                fresh = view_fn(base)
            self.grad_fn, self._output_nr = fresh.grad_fn, fresh._output_nr
            self._requires_grad = fresh._requires_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        self.grad_fn._retain(self._output_nr, self)

    def register_hook(self, hook):
        """Register ``hook(grad) -> Tensor | None`` run when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf of the graph."""
        from ._engine import backward

        backward([self], None if gradient is None else [gradient], retain_graph, create_graph,
                 inputs=inputs)

    # -- data access ------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """A detached tensor sharing memory (as ``torch.Tensor.data``)."""
        # A fresh version counter: changes through ``.data`` are invisible to autograd.
        return Tensor._make(self._data, False)

    @data.setter
    def data(self, value) -> None:
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr

    def detach(self) -> "Tensor":
        """A new tensor sharing memory, cut from the graph."""
        return Tensor._make(self._data, False, version=self._version)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying numpy array (shares memory)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    # -- metadata ---------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self):
        from ._device import CPU  # a torch.device; compares equal to "cpu" too

        return CPU

    is_cuda = is_xpu = is_mps = is_meta = is_quantized = is_sparse = property(lambda self: False)
    is_cpu = property(lambda self: True)

    def numel(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[dim]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self._data.dtype not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool):
            extra += f", dtype={self._data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name()}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __reduce_ex__(self, protocol):
        raise TypeError("autograd tensors are not picklable: use autograd.save() (npz + JSON)")

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        t = Tensor._make(self._data.copy(), self._requires_grad)
        if self.grad is not None:
            t.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = t
        return t


class Size(tuple):
    """Shape tuple (``torch.Size``) with ``numel()``."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"Size({list(self)})"


def _to_array(data, dtype=None) -> np.ndarray:
    """Convert Python/numpy data to an array with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        arr = data._data
        return arr if dtype is None else arr.astype(dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        data = _unwrap_nested(data)
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):  # numpy data keeps its dtype
        return np.asarray(data)
    arr = np.array(data)
    if arr.dtype.kind == "f":
        return arr.astype(_dtype.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "O":
        raise TypeError(f"can't convert {type(data).__name__} of mixed types to a tensor")
    return arr


def _flat(seq):
    for s in seq:
        if isinstance(s, (list, tuple)):
            yield from _flat(s)
        else:
            yield s


def _unwrap_nested(seq):
    return [(_unwrap_nested(s) if isinstance(s, (list, tuple))
             else (s._data if isinstance(s, Tensor) else s)) for s in seq]


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
