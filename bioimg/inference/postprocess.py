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


def class_labels(probs: np.ndarray) -> np.ndarray:
    """Most probable class per pixel as 1..K (napari convention: 0 is unlabelled)."""
    return (probs.argmax(0) + 1).astype(np.uint8 if probs.shape[0] < 255 else np.uint16)


def instances_from_probs(probs: np.ndarray, threshold: float = 0.5, seed_threshold: float = 0.5,
                         min_size: int = 10, spacing=None) -> np.ndarray:
    """Instance labels from (background, interior, boundary) probabilities.

    Seeds are connected components of confident interior pixels; they grow
    by watershed on the interior probability through the foreground (interior
    + boundary > ``threshold``), which splits touching objects along their
    boundary. Objects smaller than ``min_size`` pixels are removed.
    """
    interior, boundary = probs[1], probs[2]
    foreground = (interior + boundary) > threshold
    seeds_mask = interior > seed_threshold
    seeds_mask = remove_small(seeds_mask, max(1, min_size // 4))
    seeds, n = ndi.label(seeds_mask)
    if n == 0:
        return np.zeros(interior.shape, dtype=np.uint16)
    labels = watershed(-interior, markers=seeds, mask=foreground)
    labels = remove_small(labels, min_size)
    from skimage.segmentation import relabel_sequential
    labels = relabel_sequential(labels)[0]
    dtype = np.uint16 if labels.max() < 65535 else np.uint32
    return labels.astype(dtype)
