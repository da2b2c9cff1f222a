"""Data types on output: keep labels' integer type, shrink int64 safely."""
from __future__ import annotations

import numpy as np

from ._axes import unsupported_dtype

_UNSIGNED = (np.uint8, np.uint16, np.uint32, np.uint64)
_SIGNED = (np.int8, np.int16, np.int32, np.int64)


def value_range(data: np.ndarray, chunk_bytes: int = 64 * 2**20) -> tuple:
    """(min, max) of ``data`` in chunks along the first axis, NaNs ignored.

    Chunking keeps a memory-mapped stack from being paged in all at once;
    returns ``(nan, nan)`` when there is no finite value (or no value).

    Examples
    --------
    >>> value_range(np.array([[3, 1], [7, 2]]))
    (1, 7)
    """
    if data.size == 0:
        return (float("nan"), float("nan"))
    if data.ndim == 0:
        data = data.reshape(1)
    step = max(1, int(chunk_bytes // max(1, data[0].nbytes)))
    lo = hi = None
    for start in range(0, data.shape[0], step):
        block = np.asarray(data[start:start + step])
        if block.dtype.kind == "f":
            block = block[np.isfinite(block)]
            if block.size == 0:
                continue
        bmin, bmax = block.min(), block.max()
        lo = bmin if lo is None else min(lo, bmin)
        hi = bmax if hi is None else max(hi, bmax)
    if lo is None:
        return (float("nan"), float("nan"))
    return (lo.item(), hi.item())


def smallest_int_dtype(lo: int, hi: int, min_itemsize: int = 1) -> np.dtype | None:
    """Smallest integer dtype holding [lo, hi] (unsigned when lo >= 0)."""
    for candidate in (_UNSIGNED if lo >= 0 else _SIGNED):
        info = np.iinfo(candidate)
        if np.dtype(candidate).itemsize >= min_itemsize and info.min <= lo and hi <= info.max:
            return np.dtype(candidate)
    return None


def prepare_for_write(data: np.ndarray) -> np.ndarray:
    """Array ready for a file writer; raises ``ValueError`` for complex etc.

    ``bool`` becomes ``uint8``; 64-bit integers (typical of label images made
    with numpy/scipy) shrink to the smallest type that holds every value,
    unsigned when there are no negatives, and stay 64-bit otherwise. No value
    is ever changed.

    Examples
    --------
    >>> prepare_for_write(np.array([0, 70000], dtype=np.int64)).dtype
    dtype('uint32')
    """
    reason = unsupported_dtype(data.dtype)
    if reason:
        raise ValueError(reason)
    if data.dtype == bool:
        return data.astype(np.uint8)
    if data.dtype.kind in "iu" and data.dtype.itemsize == 8:
        lo, hi = value_range(data) if data.size else (0, 0)
        target = smallest_int_dtype(int(lo), int(hi))
        if target is not None and target.itemsize < 8:
            return data.astype(target)
    return data
