"""Batch processing: run one function per item on dask, locally or on a cluster.

``run_batch(items, fn)`` calls ``fn(item)`` for every item and returns one
:class:`BatchResult` per item, in input order. An exception raised by one
item is recorded in its result and never stops the others.

* Local (default): a pool of ``workers`` threads (``workers=1`` runs the
  items one after the other in the calling thread).
* Distributed: ``scheduler`` is the address of a running
  :mod:`dask.distributed` scheduler (``"tcp://host:8786"``) or a
  ``distributed.Client``; ``fn`` and the items must then be picklable
  (module-level functions, ``functools.partial`` of them, paths).

Examples
--------
>>> from bioimg.scale import run_batch
>>> [r.value for r in run_batch([1, 2, 3], lambda x: x * x, workers=2)]
[1, 4, 9]
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

__all__ = ["BatchResult", "run_batch"]


@dataclass
class BatchResult:
    """What became of one item of a batch.

    Attributes
    ----------
    item : object
        The item as given to :func:`run_batch`.
    ok : bool
        ``True`` when ``fn(item)`` returned, ``False`` when it raised.
    value : object
        What ``fn(item)`` returned (``None`` on failure).
    error : str or None
        One-line description of the exception (``None`` on success).
    seconds : float
        Wall time spent in ``fn(item)``.
    """

    item: Any
    ok: bool
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


def _error_text(exc: BaseException) -> str:
    """First line of the exception message, or its type name when empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _timed(fn: Callable[[Any], Any], item: Any) -> BatchResult:
    """Call ``fn(item)`` and wrap the outcome (value or error) with its wall time."""
    t0 = time.perf_counter()
    try:
        value = fn(item)
    except Exception as exc:  # noqa: BLE001 - recorded per item, never stops the batch
        return BatchResult(item, False, error=_error_text(exc), seconds=time.perf_counter() - t0)
    return BatchResult(item, True, value=value, seconds=time.perf_counter() - t0)


def run_batch(items: Iterable[Any], fn: Callable[[Any], Any], *, workers: int | None = None,
              scheduler: Any = None,
              progress: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Run ``fn(item)`` for every item; collect results and errors in input order.

    Parameters
    ----------
    items : iterable
        The work items (e.g. file paths).
    fn : callable
        ``fn(item) -> value``. Exceptions are caught per item.
    workers : int, optional
        Number of local threads (default: number of CPUs). Ignored with
        ``scheduler``.
    scheduler : str or distributed.Client, optional
        Address of a running dask.distributed scheduler, or a client. When
        given, the items run on that cluster's workers.
    progress : callable, optional
        ``progress(result)`` is called once per finished item, in completion
        order, in the calling thread.

    Returns
    -------
    list of BatchResult
        One per item, in the order of ``items``.
    """
    items = list(items)
    if not items:
        return []
    if scheduler is not None:
        return _run_distributed(items, fn, scheduler, progress)
    workers = max(1, int(workers or os.cpu_count() or 1))
    results: list[BatchResult | None] = [None] * len(items)
    if workers == 1:
        for i, item in enumerate(items):
            results[i] = _timed(fn, item)
            if progress is not None:
                progress(results[i])
        return results  # type: ignore[return-value]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)),
                            thread_name_prefix="bioimg-batch") as pool:
        futures = {pool.submit(_timed, fn, item): i for i, item in enumerate(items)}
        for fut in as_completed(futures):
            res = fut.result()
            results[futures[fut]] = res
            if progress is not None:
                progress(res)
    return results  # type: ignore[return-value]


def _run_distributed(items: list, fn: Callable, scheduler: Any,
                     progress: Callable[[BatchResult], None] | None) -> list[BatchResult]:
    """Submit every item to a dask.distributed cluster and gather as they finish."""
    try:
        from distributed import Client
        from distributed import as_completed as dist_as_completed
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise RuntimeError("a dask scheduler address needs 'distributed' "
                           "(pip install \"dask[distributed]\")") from exc
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout="10s") if own else scheduler
    except (OSError, TimeoutError) as exc:
        raise OSError(f"cannot connect to dask scheduler {scheduler}: {_error_text(exc)}") from None
    results: list[BatchResult | None] = [None] * len(items)
    try:
        futures = [client.submit(_timed, fn, item, pure=False) for item in items]
        index = {fut.key: i for i, fut in enumerate(futures)}
        for fut in dist_as_completed(futures):
            i = index[fut.key]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker died or fn could not be unpickled
                res = BatchResult(items[i], False, error=_error_text(exc))
            res.item = items[i]
            results[i] = res
            if progress is not None:
                progress(res)
    finally:
        if own:
            client.close()
    return results  # type: ignore[return-value]
