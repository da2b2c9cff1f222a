"""Resampling anisotropic stacks (confocal Z, MRI slices) to isotropic voxels."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage as ndi


def rescale_to_isotropic(data: ArrayLike, spacing: Sequence[float], order: int = 1,
                         target: float | None = None) -> tuple[np.ndarray, tuple[float, ...]]:
    """Resample an image or label volume so that its voxels are cubes.

    The spatial axes are the last ``len(spacing)`` axes; leading axes
    (channels, time) are kept as they are. Each spatial axis is zoomed by
    ``spacing[i] / target`` with pixel-area geometry (``grid_mode=True``,
    the convention of ``skimage.transform.rescale``), so the physical extent
    ``shape * spacing`` is preserved.

    Parameters
    ----------
    data : array_like
        Image (any real dtype) or label image.
    spacing : sequence of float
        Voxel size of the spatial axes, e.g. ``(5.0, 4.0, 4.0)`` mm for ZYX.
    order : int, optional
        Spline order: 1 (linear, default) for images; 0 (nearest) for label
        images, which keeps their dtype and values. Orders > 0 return float32.
    target : float, optional
        Output voxel size. Default: the finest input spacing (no detail lost).

    Returns
    -------
    resampled : ndarray
    new_spacing : tuple of float
        The exact voxel size of the output, ``spacing * shape / new_shape``
        (equal to ``target`` up to the rounding of the new shape).

    Examples
    --------
    >>> import numpy as np
    >>> vol = np.zeros((10, 64, 64), dtype=np.uint16)
    >>> out, sp = rescale_to_isotropic(vol, (2.0, 0.5, 0.5))
    >>> out.shape, out.dtype, sp
    ((40, 64, 64), dtype('float32'), (0.5, 0.5, 0.5))
    >>> labels, sp = rescale_to_isotropic(vol, (2.0, 0.5, 0.5), order=0)
    >>> labels.dtype
    dtype('uint16')
    """
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"cannot resample an array of dtype {arr.dtype}")
    spacing = tuple(float(h) for h in spacing)
    nsp = len(spacing)
    if not 1 <= nsp <= arr.ndim:
        raise ValueError(f"spacing {spacing} does not fit an array of shape {arr.shape}")
    if not all(h > 0 and np.isfinite(h) for h in spacing):
        raise ValueError(f"spacing must be positive and finite, got {spacing}")
    target = min(spacing) if target is None else float(target)
    if not (target > 0 and np.isfinite(target)):
        raise ValueError(f"target spacing must be positive, got {target}")
    if int(order) != order or not 0 <= order <= 5:
        raise ValueError(f"order must be an integer 0-5, got {order!r}")
    lead = arr.ndim - nsp
    shape = arr.shape[lead:]
    new_shape = tuple(max(1, int(round(n * h / target))) for n, h in zip(shape, spacing))
    new_spacing = tuple(h * n / m for h, n, m in zip(spacing, shape, new_shape))
    if new_shape == shape:
        return (arr.copy() if order == 0 else arr.astype(np.float32)), new_spacing
    if order == 0:
        out_dtype = arr.dtype
        src = arr.view(np.uint8) if arr.dtype == np.bool_ else arr
    else:
        out_dtype = np.dtype(np.float32)
        src = arr if arr.dtype.kind == "f" else arr.astype(np.float32)
    zoom = tuple(m / n for m, n in zip(new_shape, shape))
    out = np.empty(arr.shape[:lead] + new_shape, dtype=src.dtype if order == 0 else np.float32)
    # one spatial volume at a time: channels/time never mix and memory stays bounded
    for idx in np.ndindex(*arr.shape[:lead]):
        ndi.zoom(src[idx], zoom, output=out[idx], order=int(order), mode="nearest",
                 grid_mode=True, prefilter=order > 1)
    return out.view(out_dtype) if order == 0 else out, new_spacing
