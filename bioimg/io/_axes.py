"""Axis letters, their canonical order, and the dtypes an Image may hold.

Axes use the letters ``T`` (time), ``C`` (channel), ``Z``, ``Y``, ``X``.
Readers return them in the canonical order ``TCZYX`` (any subset, ``Y`` and
``X`` always present). The one exception is interleaved colour: a last ``C``
axis with 3 or 4 entries (RGB/RGBA, as stored in TIFF/DICOM) stays last, i.e.
``YXC``/``ZYXC``/``TZYXC``. Reordering is a transpose view, never a copy, so
memory-mapped data stays memory-mapped.
"""
from __future__ import annotations

import numpy as np

AXES_LETTERS = "TCZYX"
SPATIAL_LETTERS = "ZYX"
RGB_SIZES = (3, 4)


def check_axes(axes: str, ndim: int) -> str:
    """Validated, upper-case axes string for an array of ``ndim`` dimensions.

    Raises ``ValueError`` naming the problem.
    """
    if not isinstance(axes, str):
        raise ValueError(f"axes must be a string such as 'ZYX', got {axes!r}")
    axes = axes.upper()
    bad = sorted(set(axes) - set(AXES_LETTERS))
    if bad:
        raise ValueError(f"axes {axes!r} use unknown letters {''.join(bad)!r} (allowed: {AXES_LETTERS})")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes {axes!r} repeat a letter")
    if len(axes) != ndim:
        raise ValueError(f"axes {axes!r} have {len(axes)} letters but the data has {ndim} dimensions")
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"axes {axes!r} must contain Y and X")
    return axes


def spatial_axes(axes: str) -> str:
    """The spatial letters (Z, Y, X) of ``axes``, in ``axes`` order."""
    return "".join(a for a in axes if a in SPATIAL_LETTERS)


def is_rgb(axes: str, shape: tuple[int, ...]) -> bool:
    """True for interleaved colour: ``C`` is the last axis with 3 or 4 entries."""
    return axes.endswith("C") and shape[-1] in RGB_SIZES


def canonical_axes(axes: str, shape: tuple[int, ...]) -> str:
    """Canonical order of ``axes`` (``TCZYX``, or ``TZYXC`` for RGB)."""
    order = "TZYXC" if is_rgb(axes, shape) else "TCZYX"
    return "".join(a for a in order if a in axes)


def to_canonical(data: np.ndarray, axes: str, spacing: tuple[float, ...] | None = None):
    """Transpose ``data`` (a view) to canonical axes order.

    Returns ``(data, axes, spacing)`` with the spatial ``spacing`` reordered
    to follow the axes.
    """
    target = canonical_axes(axes, data.shape)
    if target == axes:
        return data, axes, spacing
    data = np.transpose(data, [axes.index(a) for a in target])
    if spacing is not None:
        by_axis = dict(zip(spatial_axes(axes), spacing))
        spacing = tuple(by_axis[a] for a in spatial_axes(target))
    return data, target, spacing


def from_tifffile_axes(axes: str) -> str:
    """Map tifffile axis codes to ``TCZYX`` letters.

    ``S`` (samples) becomes ``C``; generic codes (``I`` image sequence, ``Q``
    unknown, and the rarer ``A``, ``E``, ``H``, ``L``, ``M``, ``P``, ``R``,
    ``V``) take the missing letters nearest to ``YX`` first: a plain
    multi-page TIFF is a Z stack, an unlabelled 4-D array is ``CZYX``.
    Raises ``ValueError`` when the axes cannot be mapped (too many, or both
    channels and colour samples).
    """
    axes = axes.upper()
    if "S" in axes and "C" in axes:
        raise ValueError(f"both channels and colour samples ({axes}) are not supported")
    mapped = ["C" if a == "S" else a for a in axes]
    taken = {a for a in mapped if a in AXES_LETTERS}
    free = [a for a in "ZCT" if a not in taken]  # nearest to YX first
    for i in range(len(mapped) - 1, -1, -1):
        if mapped[i] in AXES_LETTERS:
            continue
        if not free:
            raise ValueError(f"too many dimensions ({axes}); supported axes are {AXES_LETTERS}")
        mapped[i] = free.pop(0)
    result = "".join(mapped)
    if len(set(result)) != len(result) or "Y" not in result or "X" not in result:
        raise ValueError(f"cannot interpret TIFF axes {axes!r}")
    return result


def unsupported_dtype(dtype: np.dtype) -> str | None:
    """Reason why ``dtype`` cannot be an image dtype, or None when it can."""
    dtype = np.dtype(dtype)
    if dtype.kind in "bui":
        return None
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return None
    return f"unsupported data type {dtype} (supported: bool, integers, float16/32/64)"
