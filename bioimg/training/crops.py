"""Crops around painted objects for object-level classification."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .sampling import pad_to


def object_crops(image: np.ndarray, class_labels: np.ndarray, size: tuple):
    """One (C, *size) crop per connected painted object, with its class id (1..K).

    ``class_labels`` holds class ids painted on objects (0 = unlabelled);
    each connected component of one class is one object.
    """
    crops, classes = [], []
    for k in np.unique(class_labels):
        if k == 0:
            continue
        comps, n = ndi.label(class_labels == k)
        for sl in ndi.find_objects(comps):
            centre = [(s.start + s.stop) // 2 for s in sl]
            crops.append(crop_at(image, centre, size))
            classes.append(int(k))
    return crops, classes


def crop_at(image: np.ndarray, centre, size: tuple) -> np.ndarray:
    """A (C, *size) crop centred on ``centre``, reflect-padded at the borders."""
    spatial = image.shape[1:]
    half = [s // 2 for s in size]
    pad = [(0, 0)] + [(h, s - h) for h, s in zip(half, size)]
    padded = np.pad(image, pad, mode="reflect" if all(n > s for n, s in zip(spatial, size)) else "edge")
    sl = tuple(slice(c, c + s) for c, s in zip(centre, size))
    return pad_to(np.ascontiguousarray(padded[(slice(None),) + sl]), size, lead=1)


def object_size(class_labels: np.ndarray, multiple: int) -> tuple:
    """A crop size about twice the median object extent, a multiple of ``multiple``."""
    extents = []
    for k in np.unique(class_labels):
        if k == 0:
            continue
        comps, _ = ndi.label(class_labels == k)
        extents += [max(s.stop - s.start for s in sl) for sl in ndi.find_objects(comps)]
    side = int(np.median(extents) * 2) if extents else 32
    side = max(multiple, min(128, -(-side // multiple) * multiple))
    return (side,) * class_labels.ndim
