"""Bring user inputs (arrays or ``bioimg.io.Image``) into the training layout.

Images become float32 (C, *spatial) arrays, normalized with the method the
model will store; spatial axes are "YX" or "ZYX".
"""
from __future__ import annotations

import numpy as np


def to_channel_first(image, axes: str | None = None) -> tuple[np.ndarray, str]:
    """Return (array (C, *spatial), spatial axes) for an array or an Image."""
    if hasattr(image, "data") and hasattr(image, "axes"):
        axes = axes or image.axes
        image = image.data
    arr = np.asarray(image)
    if axes is None:
        axes = {2: "YX", 3: "ZYX"}.get(arr.ndim)
        if axes is None:
            raise ValueError(f"cannot guess the axes of a {arr.ndim}-D array of shape {arr.shape}: "
                             "pass axes (e.g. 'CZYX')")
    axes = axes.upper()
    if len(axes) != arr.ndim:
        raise ValueError(f"axes {axes!r} do not match an array of shape {arr.shape}")
    for ax in axes:
        if ax not in "CZYX":
            raise ValueError(f"axis {ax!r} in {axes!r} is not supported for training "
                             "(use one time point or channel at a time)")
    if "C" not in axes:
        arr = arr[None]
        axes = "C" + axes
    arr = np.moveaxis(arr, axes.index("C"), 0)
    spatial = axes.replace("C", "")
    if len(spatial) not in (2, 3):
        raise ValueError(f"images must be 2D or 3D, got spatial axes {spatial!r}")
    return arr, spatial


def normalize_image(arr: np.ndarray, settings: dict) -> tuple[np.ndarray, dict]:
    """Normalize a (C, *spatial) array per channel with ``settings`` (method + options)."""
    from bioimg.preprocess import normalize

    settings = dict(settings or {"method": "none"})
    method = settings.pop("method", "percentile")
    if method in (None, "none"):
        return arr.astype(np.float32, copy=False), {"method": "none"}
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "c":
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    axis = 0 if arr.shape[0] > 1 else None
    out, params = normalize(arr, method=method, axis=axis, **settings)
    return np.ascontiguousarray(out, dtype=np.float32), params


def labels_spatial(labels, spatial_shape: tuple, name: str = "labels") -> np.ndarray:
    """Labels as an array with exactly the image's spatial shape."""
    if hasattr(labels, "data") and hasattr(labels, "axes"):
        labels = labels.data
    lab = np.asarray(labels)
    if lab.shape != tuple(spatial_shape):
        squeezed = lab.squeeze()
        if squeezed.shape != tuple(spatial_shape):
            raise ValueError(f"{name} shape {lab.shape} does not match the image's spatial shape "
                             f"{tuple(spatial_shape)}")
        lab = squeezed
    return lab


def default_patch(spatial_shapes: list, ndim: int, multiple: int) -> tuple:
    """A patch that fits the smallest image, rounded to the network's size multiple."""
    target = (128, 128) if ndim == 2 else (32, 64, 64)
    smallest = np.min(np.array(spatial_shapes), axis=0)
    patch = []
    for t, s in zip(target, smallest):
        p = min(t, int(s))
        p = max(multiple, (p // multiple) * multiple)
        patch.append(p)
    return tuple(patch)


def check_patch(patch, ndim: int, multiple: int) -> tuple:
    patch = tuple(int(p) for p in patch)
    if len(patch) == 1:
        patch = patch * ndim
    if len(patch) != ndim:
        raise ValueError(f"patch_size {patch} must have {ndim} values for {ndim}D images")
    bad = [p for p in patch if p % multiple or p <= 0]
    if bad:
        raise ValueError(f"patch_size {patch}: every size must be a positive multiple of {multiple} "
                         "(2**depth of the network)")
    return patch
