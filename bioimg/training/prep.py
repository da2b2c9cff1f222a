"""Bring user inputs (arrays or ``bioimg.io.Image``) into the training layout.

Images become float32 (C, *spatial) arrays, normalized with the method the
model will store; spatial axes are "YX" or "ZYX".
"""
from __future__ import annotations

import warnings

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


def normalize_image(arr: np.ndarray, settings: dict, name: str = "image") -> tuple[np.ndarray, dict]:
    """Normalize a (C, *spatial) array per channel with ``settings`` (method + options).

    Non-finite pixels are handled as in :func:`normalize_finite` (the mask is dropped).
    """
    out, params, _ = normalize_finite(arr, settings, name)
    return out, params


def normalize_finite(arr: np.ndarray, settings: dict, name: str = "image",
                     consequence: str = "") -> tuple[np.ndarray, dict, np.ndarray | None]:
    """Normalize like :func:`normalize_image`; NaN / inf pixels are masked, never propagated.

    The one rule for training and prediction: the statistics ignore
    non-finite pixels, those pixels are 0 in the normalized image, and a
    warning names their count. Returns ``(normalized, params, bad)`` where
    ``bad`` is a spatial bool mask of those pixels (any channel), or None.
    Training leaves them out of the loss; prediction gives them background
    and probability 0.
    """
    counts = None
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            nan_px = int(np.isnan(arr).any(axis=0).sum())
            inf_px = int(np.isinf(arr).any(axis=0).sum())
            if not finite.any():
                raise ValueError(f"{name} has no finite pixels ({nan_px} NaN, {inf_px} inf)")
            counts = (nan_px, inf_px)
            arr = np.where(finite, arr, np.nan)  # every normalize_* ignores NaN in its statistics
    out, params = _normalize(arr, settings)
    bad = ~np.isfinite(out)
    if counts is None and not bad.any():
        return out, params, None
    bad = bad.any(axis=0)
    out[:, bad] = 0.0
    if counts is None:  # finite input that overflowed float32 after normalization
        counts = (0, int(bad.sum()))
    parts = [f"{c} {w} pixels" for c, w in zip(counts, ("NaN", "inf")) if c]
    warnings.warn(f"{name} has {' and '.join(parts)}: ignored by normalization and set to 0"
                  + (f"; {consequence}" if consequence else ""), NonFiniteWarning, stacklevel=3)
    return out, params, bad


class NonFiniteWarning(UserWarning):
    """An image held NaN / inf pixels (masked, see :func:`normalize_finite`)."""


class TrainingDiverged(ValueError, FloatingPointError):
    """The loss became NaN / inf: a ``ValueError`` so the CLI reports one line and exits 2."""


def image_name(image, index: int, count: int) -> str:
    """How messages name one image: its file stem when known, else its position."""
    name = getattr(image, "name", "") if hasattr(image, "axes") else ""
    if name:
        return f"image {name!r}"
    return "image" if count == 1 else f"image #{index + 1}"


def input_cause(images: list, batch: np.ndarray | None = None) -> str:
    """Name an input that can make the loss diverge ("" when the input looks sound).

    Non-finite pixels are masked before training, so what is left is a batch
    that still holds them, or extreme values after normalization (outliers
    that the percentiles did not cover).
    """
    if batch is not None and not np.isfinite(batch).all():
        return f"; the batch holds {int((~np.isfinite(batch)).sum())} NaN/inf values"
    peak = max(float(np.max(np.abs(im))) for im in images)
    if peak > 1e4:
        return (f"; normalized image values reach {peak:.3g} (extreme outliers in the image: "
                "check its intensities or use zscore/minmax normalization)")
    return ""


def _normalize(arr: np.ndarray, settings: dict) -> tuple[np.ndarray, dict]:
    from bioimg.preprocess import normalize

    settings = dict(settings or {"method": "none"})
    method = settings.pop("method", "percentile")
    if method in (None, "none"):
        return np.array(arr, dtype=np.float32), {"method": "none"}
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "c":
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    axis = 0 if arr.shape[0] > 1 else None
    with np.errstate(invalid="ignore", over="ignore"):
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
