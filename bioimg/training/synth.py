"""Synthetic surroundings for objects cut out of their context (masked images).

A training image that is exactly constant outside the object (a skull-
stripped MRI template, a cell cut out of its field) teaches a network the
shortcut "not background = object": on a real image with the skull on it
segments the skull too (measured before this: Dice 0.62 on another subject).
Filling the masked background with random layered tissue makes the
network learn the object's own appearance and its boundary.

The layers follow the order of a head in T1-weighted MRI (dark CSF, dark
bone with an optional bright marrow band, muscle and bright fat, tissue
blobs such as the neck or the eyes, then air), but every thickness and
intensity is drawn from wide ranges, relative to the normalized image
(foreground median = 1), so the same surround serves any masked object.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def masked_background(image: np.ndarray, min_fraction: float = 0.2) -> np.ndarray | None:
    """Where ``image`` (C, *spatial) is masked: the pixels equal to its minimum in every channel.

    Returns that boolean mask when it covers at least ``min_fraction`` of the
    image (a cut-out object), else None (a natural image has noise there).
    """
    low = image.reshape(image.shape[0], -1).min(axis=1).reshape((-1,) + (1,) * (image.ndim - 1))
    flat = (image == low).all(axis=0)
    return flat if flat.mean() >= min_fraction else None


def distance_outside(background: np.ndarray, spacing) -> np.ndarray:
    """Distance (in ``spacing`` units) of every masked pixel from the unmasked region; 0 inside."""
    return ndi.distance_transform_edt(background, sampling=spacing).astype(np.float32)


def _smooth_noise(shape, rng, sigma: float) -> np.ndarray:
    field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)


def synthetic_surround(image: np.ndarray, dist: np.ndarray, rng: np.random.Generator,
                       pixel: float = 1.0) -> np.ndarray:
    """Fill the masked pixels of a (C, *spatial) slice with random layered tissue.

    ``dist`` is :func:`distance_outside` for the same pixels (0 on the real
    data), in physical units; ``pixel`` is the pixel size in those units.
    Returns a new float32 array; unmasked pixels are kept as they are.
    """
    outside = dist > 0
    if not outside.any():
        return image
    shape = dist.shape
    wobble = 1.0 + 0.3 * _smooth_noise(shape, rng, 8.0 / pixel)  # thickness varies along the surface
    d = dist / np.maximum(wobble, 0.3)
    t_csf, t_bone, t_muscle, t_fat = (rng.uniform(0.3, 4.0), rng.uniform(2.0, 9.0),
                                      rng.uniform(0.0, 6.0), rng.uniform(1.0, 8.0))
    edges = np.cumsum([t_csf, t_bone, t_muscle, t_fat])
    # csf, bone (dark; grey where averaged or blurred), muscle, fat, air
    levels = [rng.uniform(0.0, 0.5), rng.uniform(0.0, 0.3) if rng.random() < 0.7 else rng.uniform(0.3, 0.8),
              rng.uniform(0.4, 1.1), rng.uniform(0.9, 2.8), rng.uniform(0.0, 0.08)]
    layer = np.searchsorted(edges, d)
    tissue = np.asarray(levels, np.float32)[layer]
    if rng.random() < 0.5:  # marrow: a bright band inside the bone
        mid = edges[0] + t_bone * rng.uniform(0.3, 0.7)
        band = np.abs(d - mid) < t_bone * rng.uniform(0.1, 0.3)
        tissue = np.where(band, np.float32(rng.uniform(0.4, 1.6)), tissue)
    for _ in range(int(rng.integers(0, 5))):  # brain-like or other tissue beyond the bone: neck, face, eyes
        blobs = _smooth_noise(shape, rng, rng.uniform(3.0, 15.0) / pixel) > rng.uniform(-0.5, 1.2)
        blobs &= d > edges[0] + rng.uniform(0.5, 1.0) * t_bone
        tissue = np.where(blobs, np.float32(rng.uniform(0.3, 1.8)), tissue)
    texture = 1.0 + rng.uniform(0.0, 0.25) * _smooth_noise(shape, rng, rng.uniform(0.7, 2.0))
    tissue = ndi.gaussian_filter(tissue * texture, rng.uniform(0.3, 1.0))  # partial volume
    out = np.array(image, dtype=np.float32, copy=True)
    out[:, outside] = tissue[outside]
    return out
