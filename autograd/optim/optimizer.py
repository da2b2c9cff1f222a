"""``optim.Optimizer``: parameter groups, per-parameter state and state dicts.

Mirrors ``torch.optim.Optimizer``. Subclasses update ``p._data`` in place with
numpy ufuncs (``out=``), keep their state arrays in the parameter's dtype and
reuse a few per-optimizer scratch buffers, so a step allocates nothing large.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .._grad_mode import enable_grad
from .._tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every param group must give (``optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, tensor)`` pairs, or dicts defining parameter groups
        (each with ``"params"`` and optional per-group options).
    defaults : dict
        Default options, used for groups that do not set them.

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.ones(3).requires_grad_()
    >>> opt = torch.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.8, 0.8, 0.8]
    """

    # State entries shaped like their parameter: checked on ``load_state_dict``.
    _param_shaped_state = frozenset({"momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq",
                                     "square_avg", "grad_avg", "sum"})

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._scratch: dict = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_scratch", {})

    def __repr__(self) -> str:
        out = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}"
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    out += f"\n    {key}: {group[key]}"
        return out + "\n)"

    # -- groups -------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own options) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        if params and isinstance(params[0], tuple):
            if not all(isinstance(p, tuple) and len(p) == 2 for p in params):
                raise ValueError("all optimizer params should be either named (name, tensor) pairs or tensors")
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this "
                          "will cause an error", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(group["params"])
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (to ``None``, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.grad_fn = None
                    p.grad._requires_grad = False
                    p.grad._data.fill(0)

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    # -- state dict ---------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}``, parameters referenced by index.

        As in PyTorch the state tensors are references, not copies: save the dict
        (``autograd.save``) or deep-copy it to keep a snapshot.
        """
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()`` (copied: the optimizer never shares memory with it)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state_dict must be a dict with 'state' and 'param_groups' entries")
        groups = self.param_groups
        saved_groups = deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size "
                                 f"of optimizer's group: group {i} has {len(s['params'])} parameters in the "
                                 f"state dict and {len(g['params'])} in the optimizer")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: self._cast(param, val, key, k) for key, val in v.items()}
            else:
                state[k] = deepcopy(v)
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)

    def _cast(self, param: Tensor, value, key, index):
        """A copy of one state entry, floats cast to the parameter's dtype; ``step`` stays float32."""
        if isinstance(value, dict):
            return {k: self._cast(param, v, k, index) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast(param, v, key, index) for v in value)
        if key == "step":
            arr = value._data if isinstance(value, Tensor) else np.asarray(value)
            return Tensor._make(np.array(arr, dtype=np.float32))
        if isinstance(value, (Tensor, np.ndarray)):
            arr = value._data if isinstance(value, Tensor) else value
            if key in self._param_shaped_state and arr.shape != param._data.shape:
                raise ValueError(f"loaded state dict has state '{key}' of shape {list(arr.shape)} for "
                                 f"parameter {index}, whose shape is {list(param._data.shape)}")
            dtype = param._data.dtype if arr.dtype.kind == "f" and param._data.dtype.kind == "f" else arr.dtype
            return Tensor._make(np.array(arr, dtype=dtype, copy=True))
        return deepcopy(value)

    # -- helpers for subclasses ----------------------------------------------
    @staticmethod
    def _closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _tmp(self, like: np.ndarray, slot: int) -> np.ndarray:
        """An uninitialised scratch array shaped like ``like`` (reused across parameters and steps)."""
        key = (slot, like.dtype)
        buf = self._scratch.get(key)
        if buf is None or buf.size < like.size:
            buf = self._scratch[key] = np.empty(like.size, dtype=like.dtype)
        return buf[:like.size].reshape(like.shape)

    def _grad(self, p: Tensor, maximize: bool, weight_decay: float) -> np.ndarray:
        """``(-g if maximize else g) + weight_decay * p`` (``p.grad`` itself when neither applies)."""
        g = p.grad._data
        if g.shape != p._data.shape:
            raise RuntimeError(f"gradient of shape {list(g.shape)} does not match its parameter's "
                               f"shape {list(p._data.shape)}")
        if not maximize and not weight_decay:
            return g
        out = self._tmp(p._data, 0)
        if maximize:
            np.negative(g, out=out)
            if weight_decay:
                t = self._tmp(p._data, 1)
                np.multiply(p._data, weight_decay, out=t)
                np.add(out, t, out=out)
        else:
            np.multiply(p._data, weight_decay, out=out)
            np.add(g, out, out=out)
        return out

    @staticmethod
    def _lerp_(a: np.ndarray, b: np.ndarray, w: float, tmp: np.ndarray) -> None:
        """``a.lerp_(b, w)`` with PyTorch's two-sided formula."""
        np.subtract(b, a, out=tmp)
        if abs(w) < 0.5:
            np.multiply(tmp, w, out=tmp)
            np.add(a, tmp, out=a)
        else:
            np.multiply(tmp, 1.0 - w, out=tmp)
            np.subtract(b, tmp, out=a)

    @staticmethod
    def _bump(p: Tensor) -> None:
        p._version[0] += 1

    @staticmethod
    def _zeros(p: Tensor, fill: float = 0.0) -> Tensor:
        return Tensor._make(np.full_like(p._data, fill))

    @staticmethod
    def _step_tensor() -> Tensor:
        return Tensor._make(np.zeros((), dtype=np.float32))
