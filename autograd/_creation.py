"""Tensor creation and the random number generator."""
from __future__ import annotations

import functools
import inspect

import numpy as np

from . import _dtype
from ._device import check_cpu
from ._tensor import Tensor, _to_array

_make = Tensor._make


class Generator:
    """A seeded random source (``torch.Generator``) backed by numpy's PCG64."""

    def __init__(self, device: str = "cpu"):
        self._seed = 0
        self.rng = np.random.default_rng(0)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (weights init, dropout, rand/randn, shuffling)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator).rng


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(size)}: {list(size)}")
    return size


def _float_dtype(dtype):
    return np.dtype(dtype) if dtype is not None else _dtype.get_default_dtype()


def _finish(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` into a new tensor (Python floats -> float32, ints -> int64)."""
    arr = np.array(_to_array(data, dtype), copy=True)
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return _make(_to_array(data, dtype))


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap a numpy array without copying (memory is shared)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    return _make(arr)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.zeros(_shape(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.ones(_shape(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None, pin_memory=False) -> Tensor:
    return _finish(np.empty(_shape(size), dtype=_float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = _dtype.infer_dtype(fill_value)
    return _finish(np.full(tuple(size), fill_value, dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dtype.get_default_dtype() if is_float else np.int64
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps: int, base=10.0, dtype=None, requires_grad=False) -> Tensor:
    return _finish(np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = _float_dtype(dtype)
    return _finish(_rng(generator).random(_shape(size), dtype=np.float64).astype(dt), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = _float_dtype(dtype)
    return _finish(_rng(generator).standard_normal(_shape(size)).astype(dt), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None) -> Tensor:
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    arr = _rng(generator).integers(low, high, size=tuple(size))
    return _make(arr.astype(dtype or np.int64))


def randperm(n: int, generator=None, dtype=None, device=None) -> Tensor:
    return _make(_rng(generator).permutation(n).astype(dtype or np.int64))


def normal(mean=0.0, std=1.0, size=None, generator=None) -> Tensor:
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        dt = (mean if isinstance(mean, Tensor) else std).dtype
        return _make((m + s * _rng(generator).standard_normal(shape)).astype(dt))
    return _make((mean + std * _rng(generator).standard_normal(tuple(size))).astype(_float_dtype(None)))


def bernoulli(p: Tensor, generator=None) -> Tensor:
    return _make((_rng(generator).random(p.shape) < p._data).astype(p.dtype))


def multinomial(probs: Tensor, num_samples: int, replacement=False, generator=None) -> Tensor:
    rng = _rng(generator)
    p = probs._data.astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    out = np.stack([rng.choice(len(r), num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    return _make(out.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64))


def _like(fn):
    def op(x: Tensor, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
        # memory_format: numpy arrays are always row-major, every format gives the same values
        return fn(*x._data.shape, dtype=dtype or x._data.dtype, requires_grad=requires_grad, **kw)
    op.__name__ = fn.__name__ + "_like"
    return op


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)
rand_like, randn_like = _like(rand), _like(randn)


def full_like(x: Tensor, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    return full(x._data.shape, fill_value, dtype=dtype or x._data.dtype, requires_grad=requires_grad)


def randint_like(x: Tensor, low, high=None, dtype=None) -> Tensor:
    return randint(low, high, x._data.shape, dtype=dtype or x._data.dtype)


def _cpu_only(fn):
    """Refuse ``device="cuda"`` (and other accelerators) on a creation function, as PyTorch does without one."""
    @functools.wraps(fn)
    def create(*args, **kwargs):
        dev = kwargs.get("device")
        if dev is not None:
            check_cpu(dev)
        return fn(*args, **kwargs)
    return create


for _name, _fn in list(globals().items()):  # every public creation function that takes device=
    if (inspect.isfunction(_fn) and not _name.startswith("_") and getattr(_fn, "__module__", None) == __name__
            and "device" in inspect.signature(_fn).parameters):
        globals()[_name] = _cpu_only(_fn)
del _name, _fn
