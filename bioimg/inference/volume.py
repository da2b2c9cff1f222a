"""Prediction with a slice-wise volume model (``bioimg.training.volume``).

The image is resampled to the model's isotropic working grid, normalized as
at training, the 2D network runs on every slice along each stored axis
(batched, whole slices: no tiling needed at this size), the class
probabilities of the orientations are averaged, resampled back to the
image's grid, and the object mask is cleaned (largest component, holes
filled).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage as ndi

import autograd as torch

from ..training.prep import NonFiniteWarning, image_name, to_channel_first
from ..training.volume import resample
from ._cleanup import clean_single_object
from .postprocess import class_labels, label_offset, softmax


def volume_settings(info) -> dict | None:
    """The stored slice-wise volume settings of a model (``ModelInfo``), or None."""
    vol = (getattr(info, "extra", None) or {}).get("volume")
    return vol if isinstance(vol, dict) and vol.get("mode") == "slices2d" else None


def _slices(net, vol: np.ndarray, axis: int, multiple: int, batch: int, fill: float, progress, cancel,
            done: int = 0, total: int = 0):
    """Class logits (K, Z, Y, X) of ``net`` applied to every slice of (C, Z, Y, X) along ``axis``."""
    x = np.moveaxis(vol, axis + 1, 0)  # (N, C, H, W)
    n, _, h, w = x.shape
    ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    out = None
    for start in range(0, n, batch):
        if cancel is not None and cancel():
            raise InterruptedError("prediction cancelled")
        chunk = np.full((min(batch, n - start), x.shape[1], ph, pw), fill, np.float32)
        chunk[:, :, :h, :w] = x[start:start + batch]
        logits = net(torch.from_numpy(chunk)).numpy()[:, :, :h, :w]
        if out is None:
            out = np.empty((n, logits.shape[1], h, w), np.float32)
        out[start:start + len(logits)] = softmax(logits, 1)
        if progress is not None:
            progress(done + start + len(logits), total or n)
    return np.moveaxis(out, 0, axis + 1)  # (K, Z, Y, X) with the slice axis back in place


def _head_box(x: np.ndarray, margin: int, level: float = 0.25) -> tuple:
    """Bounding box (slices) of what is brighter than ``level`` x the foreground median, plus ``margin``."""
    found = ndi.find_objects((x > level).astype(np.uint8))
    if not found:
        return tuple(slice(0, n) for n in x.shape)
    return tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(found[0], x.shape))


def predict_volume(model, image, *, axes: str | None = None, progress=None, cancel=None, batch: int = 8):
    """Predict a (Z, Y, X) volume with a slice-wise model; returns a ``Prediction``.

    The image's voxel size comes from ``image.spacing`` (a ``bioimg.io.Image``);
    a plain array is taken to be on the model's working grid.
    """
    from .predict import Prediction

    info = model.info
    settings = volume_settings(info)
    arr, spatial = to_channel_first(image, axes)
    if len(spatial) != 3 or arr.shape[0] != 1:
        raise ValueError(f"this model segments one-channel 3D volumes; the image is {len(spatial)}D "
                         f"with {arr.shape[0]} channel(s) ({spatial})")
    work = float(settings["spacing"])
    spacing = getattr(image, "spacing", None) if hasattr(image, "axes") else None
    unit = getattr(image, "unit", "pixel")
    if spacing is None or len(spacing) != 3 or unit == "pixel":
        spacing = (work,) * 3  # no physical size: taken to be on the working grid
    data = arr[0].astype(np.float32)
    bad = ~np.isfinite(data)
    if bad.all():
        raise ValueError(f"{image_name(image, 0, 1)} has no finite pixels")
    if bad.any():
        warnings.warn(f"{image_name(image, 0, 1)} has {int(bad.sum())} NaN/inf pixels: set to the "
                      "background level and predicted as background", NonFiniteWarning, stacklevel=2)
        data = np.where(bad, np.nanmin(np.where(bad, np.nan, data)), data)
    small = resample(data, spacing, work)
    from bioimg.preprocess._normalize import normalize_foreground

    x = normalize_foreground(small)[0][None]
    net = model.net
    net.eval()
    multiple = getattr(net, "size_multiple", 8)
    axes_used = [int(a) for a in settings.get("orientations", [0, 1, 2])]
    box = _head_box(x[0], margin=4)  # slices and pixels outside the head hold no object: skipped
    xc = x[(slice(None),) + box]
    probs, done, total = None, 0, sum(xc.shape[1 + a] for a in axes_used)
    with torch.no_grad():
        for axis in axes_used:
            p = _slices(net, xc, axis, multiple, batch, float(x.min()), progress, cancel, done, total)
            done += xc.shape[1 + axis]
            probs = p if probs is None else probs + p
    inside = probs / len(axes_used)
    probs = np.zeros((inside.shape[0],) + x.shape[1:], np.float32)
    probs[0] = 1.0  # background outside the head box
    probs[(slice(None),) + box] = inside
    full = np.stack([resample(c, (work,) * 3, work, shape=data.shape) for c in probs])
    full /= np.maximum(full.sum(0, keepdims=True), 1e-6)
    if not np.isfinite(full).all():
        raise ValueError("the model produced NaN/inf outputs on a finite input: the model file is broken")
    offset = label_offset(info)
    labels = class_labels(full, offset)
    if settings.get("cleanup") == "largest_component_fill_holes" and full.shape[0] == 2:
        radius = int(round(float(settings.get("open_mm", 0.0)) / min(spacing)))
        obj = clean_single_object(labels == 1 + offset, radius)
        labels = np.where(obj, 1 + offset, offset).astype(labels.dtype)
    if bad.any():
        labels[bad] = 0
        full[:, bad] = 0.0
    counts = {name: int((labels == i + offset).sum()) for i, name in enumerate(info.class_names)}
    return Prediction("segment", labels=labels, probabilities=full, class_names=list(info.class_names),
                      summary={"pixels_per_class": counts, "working_spacing": work})
