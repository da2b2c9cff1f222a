"""Exact percentiles, equal to ``np.percentile``'s default ``linear`` method.

Integer images never pay for a sort: a histogram of the values (offset to
0, counted in cache-sized chunks with ``np.bincount``) gives every order
statistic from its cumulative counts. Floats use one ``np.partition`` for
all requested ranks. The final interpolation repeats numpy's own ``_lerp``
arithmetic (same dtype, same branch on ``gamma >= 0.5``) so the results are
bit-for-bit those of ``np.percentile`` (``np.nanpercentile`` when there are
NaNs, which are ignored).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_CHUNK = 1 << 20  # elements per bincount call: its intp copy stays in cache
_MAX_BINS = 1 << 24  # beyond this value span an integer image is partitioned


def _ranks(n: int, q: Sequence[float]) -> list[tuple[int, int, float]]:
    """``(previous, next, gamma)`` of each percentile, as numpy computes them."""
    out = []
    for p in q:
        vi = (n - 1) * (float(p) / 100)  # np.true_divide(q, 100), then (n - 1) * q
        prev = int(np.floor(vi))
        gamma = vi - prev
        if vi >= n - 1:
            prev = nxt = n - 1
        else:
            nxt = prev + 1
        out.append((prev, nxt, gamma))
    return out


def _lerp(a, b, t: float):
    """numpy's ``_lerp``: ``a + (b-a) t``, or ``b - (b-a)(1-t)`` when ``t >= 0.5``."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def _histogram(flat: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Counts of each value of an integer array and the value of bin 0."""
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    sign = None
    if flat.dtype in (np.uint8, np.uint16):
        lo, nbins = 0, 1 << (8 * flat.itemsize)
    elif flat.dtype in (np.int8, np.int16):
        # flipping the sign bit maps int16 onto uint16 in order: no min/max pass
        sign = np.array(1 << (8 * flat.itemsize - 1), dtype=f"u{flat.itemsize}")
        lo, nbins = -int(sign), 1 << (8 * flat.itemsize)
        flat = flat.view(sign.dtype)
    else:
        lo, hi = int(flat.min()), int(flat.max())
        if hi - lo >= _MAX_BINS:
            return None
        nbins = hi - lo + 1
    counts = np.zeros(nbins, np.int64)
    for i in range(0, flat.size, _CHUNK):
        chunk = flat[i:i + _CHUNK]
        if sign is not None:
            chunk = np.bitwise_xor(chunk, sign)
        elif lo:  # bincount wants values >= 0: offset while casting to intp
            chunk = np.subtract(chunk, lo, dtype=np.intp)
        counts += np.bincount(chunk, minlength=nbins)
    return counts, lo


def percentiles(values: np.ndarray, q: Sequence[float]) -> list[float]:
    """Exact linear percentiles ``q`` (in %) of all values (NaNs ignored).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1000, dtype=np.uint16).reshape(10, 100)
    >>> percentiles(x, [1, 99.8]) == [float(np.percentile(x, 1)), float(np.percentile(x, 99.8))]
    True
    """
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind in "biu":
        hist = _histogram(flat)
        if hist is not None:
            counts, lo = hist
            cum = np.cumsum(counts)
            res = []
            for prev, nxt, gamma in _ranks(flat.size, q):
                a, b = (int(v) + lo for v in np.searchsorted(cum, [prev, nxt], side="right"))
                # numpy subtracts in the array's integer dtype, then goes float64
                res.append(float(_lerp(a, b, gamma)))
            return res
        flat = flat.copy()
    elif flat.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            has_nan = bool(np.isnan(flat.min())) if flat.size else False
        flat = flat[~np.isnan(flat)] if has_nan else flat.copy()
    else:
        raise ValueError(f"percentiles need a real-valued image, got dtype {flat.dtype}")
    if flat.size == 0:
        raise ValueError("cannot compute percentiles of an empty (or all-NaN) image")
    ranks = _ranks(flat.size, q)
    flat.partition(sorted({k for prev, nxt, _ in ranks for k in (prev, nxt)}))
    res = []
    for prev, nxt, gamma in ranks:
        a, b = flat[prev], flat[nxt]  # numpy scalars: float32 math for float32 input
        if flat.dtype.kind in "iu":
            a, b = int(a), int(b)
        res.append(float(_lerp(a, b, gamma)))
    return res
