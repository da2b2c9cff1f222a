"""From per-pixel probabilities to labels: classes, and instances by seeded watershed."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed


def remove_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Zero out labelled objects with fewer than ``min_size`` pixels (bool masks: components)."""
    if labels.dtype == bool:
        labels, _ = ndi.label(labels)
        return remove_small(labels, min_size) > 0
    sizes = np.bincount(labels.reshape(-1))
    small = sizes < min_size
    small[0] = False
    if not small.any():
        return labels
    out = labels.copy()
    out[small[labels]] = 0
    return out


def softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def label_offset(info) -> int:
    """Label value of output channel 0 for a ``ModelInfo``: the training labels' convention.

    Models trained on dense masks (0 = background) give 0..K-1; sparse
    painting and models saved before label kinds existed give 1..K (0 stays
    "unlabelled" in napari).
    """
    return int((getattr(info, "extra", None) or {}).get("label_offset", 1))


def class_labels(probs: np.ndarray, offset: int = 1) -> np.ndarray:
    """Most probable class per pixel as ``offset``..K-1+``offset`` (see :func:`label_offset`)."""
    return (probs.argmax(0) + offset).astype(np.uint8 if probs.shape[0] + offset <= 255 else np.uint16)


def instances_from_probs(probs: np.ndarray, threshold: float = 0.5, seed_threshold: float = 0.5,
                         min_size: int = 10, split_height: float = 1.0, spacing=None) -> np.ndarray:
    """Instance labels from (background, interior, boundary) probabilities.

    The predicted interior (probability > ``seed_threshold``) separates most
    touching objects along their boundary; objects that still touch are split
    at the regional maxima of the interior's (lightly smoothed) distance
    transform that rise at least ``split_height`` pixels above their saddle
    (h-maxima: independent of object size). Seeds grow by watershed on that
    distance through the foreground (interior + boundary > ``threshold``);
    objects smaller than ``min_size`` pixels are removed.
    """
    from skimage.morphology import h_maxima
    from skimage.segmentation import relabel_sequential

    interior, boundary = probs[1], probs[2]
    foreground = (interior + boundary) > threshold
    inner = remove_small(interior > seed_threshold, max(1, min_size // 4))
    comps, n = ndi.label(inner)
    if n == 0:
        return np.zeros(interior.shape, dtype=np.uint16)
    dist = ndi.distance_transform_edt(inner, sampling=spacing).astype(np.float32)
    peaks = h_maxima(ndi.gaussian_filter(dist, 1.0), split_height) > 0
    markers, n_peaks = ndi.label(peaks & inner)
    unseeded = np.setdiff1d(np.arange(1, n + 1), comps[markers > 0])
    for k, comp in enumerate(unseeded, start=n_peaks + 1):  # objects too thin for a maximum
        markers[comps == comp] = k
    labels = watershed(-dist, markers=markers, mask=foreground)
    labels = remove_small(labels, min_size)
    labels = relabel_sequential(labels)[0]
    dtype = np.uint16 if labels.max() < 65535 else np.uint32
    return labels.astype(dtype)
