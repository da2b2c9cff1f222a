"""``DataLoader`` and the default collate/convert functions.

``num_workers > 0`` loads batches of a map-style dataset in a pool of that many
threads (not processes), a few batches ahead, and yields them in order. numpy
releases the GIL in its heavy loops, so threads help with array work; pure-Python
per-sample code gains little. A dataset that draws from the global generator
(random augmentation) is reproducible only with ``num_workers=0``, since threads
draw in no fixed order. Iterable datasets are always read in the calling thread.
"""
from __future__ import annotations

import collections.abc as cabc
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..._creation import default_generator
from ..._tensor import Tensor
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

_make = Tensor._make
_worker = threading.local()
_COLLATE_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a loader thread."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset):  # noqa: A002
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers})"


def get_worker_info():
    """The current loader thread's ``WorkerInfo``, or ``None`` in the main thread."""
    return getattr(_worker, "info", None)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack(arrays: list) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {sorted(shapes)} "
                           "(use a collate_fn that pads or crops samples of different shapes)")
    return np.stack(arrays)


def default_collate(batch):
    """Stack a list of samples into a batch (PyTorch's rules).

    Tensors and numpy arrays are stacked along a new first axis; Python floats
    become a float64 tensor, ints an int64 tensor, bools a bool tensor; strings
    stay a list; dicts, tuples (returned as lists), lists and named tuples are
    collated element-wise.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd.utils.data import default_collate
    >>> out = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)])
    >>> out[0].shape, out[1]
    (Size([2, 2]), tensor([1, 0]))
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(b.requires_grad for b in batch):
            from ...ops._shape import stack
            return stack(batch)
        return _make(_stack([b._data for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        arrs = [np.asarray(b) for b in batch]
        if arrs[0].dtype.kind in "OSUV":
            raise TypeError(_COLLATE_ERR.format(arrs[0].dtype))
        return _make(_stack(arrs))
    if isinstance(elem, bool):
        return _make(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return _make(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _make(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return collated
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data):
    """Turn numpy arrays (also inside dicts/lists/tuples) into tensors; leave the rest alone."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return _make(data)
    if isinstance(data, cabc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


class _InfiniteConstantSampler:
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate a dataset in (shuffled) mini-batches.

    Parameters follow ``torch.utils.data.DataLoader``; ``pin_memory``,
    ``persistent_workers``, ``multiprocessing_context`` and ``prefetch_factor``
    (beyond sizing the read-ahead) are accepted for compatibility. Workers are
    threads: see the module docstring.

    Examples
    --------
    >>> import autograd as torch
    >>> from autograd.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(torch.arange(10).float(), torch.arange(10))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
    >>> len(loader), [len(x) for x, y in loader]
    (3, [4, 4, 2])
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def _fetch(self, index):
        if self._auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
            return self.collate_fn(data)
        return self.collate_fn(self.dataset[index])

    def __iter__(self):
        # As PyTorch, every epoch first draws a base seed (``WorkerInfo.seed``) from the loader's
        # generator, so the shuffled order is the same whatever ``num_workers``.
        base_seed = int((self.generator or default_generator).rng.integers(2**63 - 1))
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        if self.num_workers == 0:
            return (self._fetch(index) for index in self._index_sampler)
        return self._iter_threads(base_seed)

    def _iter_stream(self):
        it = iter(self.dataset)
        if not self._auto_collation:
            for item in it:
                yield self.collate_fn(item)
            return
        while True:
            batch = [x for _, x in zip(range(self.batch_size), it)]
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def _iter_threads(self, base_seed: int):
        ids = iter(range(self.num_workers))
        lock = threading.Lock()

        def init():
            with lock:
                wid = next(ids)
            _worker.info = WorkerInfo(wid, self.num_workers, base_seed + wid, self.dataset)
            if self.worker_init_fn is not None:
                self.worker_init_fn(wid)

        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="DataLoader", initializer=init)
        ahead = max(1, self.num_workers * self.prefetch_factor)
        pending: deque = deque()
        indices = iter(self._index_sampler)
        try:
            for index in indices:
                pending.append(pool.submit(self._fetch, index))
                if len(pending) >= ahead:
                    yield pending.popleft().result(timeout=self.timeout or None)
            while pending:
                yield pending.popleft().result(timeout=self.timeout or None)
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

