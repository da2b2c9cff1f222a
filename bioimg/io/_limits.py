"""Absolute size limits checked before a reader allocates pixel memory.

A header can declare any size; the readers compare it with the bytes the file
really holds (see ``_tiff``, ``_nifti``, ``_dicom``), and, for what passes,
with this cap, so a corrupt or hostile header fails with a one-line
:class:`ImageReadError` instead of a multi-gigabyte allocation. Lazy reads
(``read(..., lazy=True)``, zarr stores, memory-mapped TIFFs) do not allocate
the whole array and are not capped.
"""
from __future__ import annotations

import os
from pathlib import Path

from ._errors import ImageReadError

#: Largest array (bytes) an eager read allocates: 16 GiB, or the machine's
#: physical memory when that is smaller.
FIXED_CAP_BYTES = 16 << 30


def max_array_bytes() -> int:
    """The per-array cap in bytes: ``min(16 GiB, physical memory)``."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on every platform
        physical = FIXED_CAP_BYTES
    return int(min(FIXED_CAP_BYTES, physical if physical > 0 else FIXED_CAP_BYTES))


def check_array_bytes(path: Path, nbytes: float, what: str = "pixel data") -> None:
    """Raise :class:`ImageReadError` when ``nbytes`` exceeds :func:`max_array_bytes`."""
    cap = max_array_bytes()
    if nbytes > cap:
        raise ImageReadError(path, f"{what} would need {_gib(nbytes)} of memory, over the limit of {_gib(cap)} "
                             "for an eager read (use read(..., lazy=True) for TIFF/zarr)")


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"
