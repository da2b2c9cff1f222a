"""Random augmentation of (image, target) patches: flips, 90-degree rotations,
intensity scale/shift and noise. Image patches are (C, *spatial)."""
from __future__ import annotations

import numpy as np


def augment(image: np.ndarray, target: np.ndarray | None, rng: np.random.Generator,
            flips: bool = True, rotate90: bool = True, intensity: float = 0.1,
            noise: float = 0.02) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the same random geometric transform to ``image`` and ``target``.

    ``target`` may be (*spatial) labels or (C, *spatial) images (denoising);
    intensity changes apply to the image only.
    """
    nd = image.ndim - 1
    t_off = (target.ndim - nd) if target is not None else 0
    if flips:
        for ax in range(nd):
            if rng.random() < 0.5:
                image = np.flip(image, 1 + ax)
                if target is not None:
                    target = np.flip(target, t_off + ax)
    if rotate90 and image.shape[-1] == image.shape[-2]:
        k = int(rng.integers(4))
        if k:
            image = np.rot90(image, k, axes=(-2, -1))
            if target is not None:
                target = np.rot90(target, k, axes=(-2, -1))
    image = np.ascontiguousarray(image, dtype=np.float32)
    if intensity > 0:
        scale = np.float32(1 + rng.uniform(-intensity, intensity))
        shift = np.float32(rng.uniform(-intensity, intensity))
        image = image * scale + shift
    if noise > 0:
        sigma = np.float32(rng.uniform(0, noise))
        image = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    if target is not None:
        target = np.ascontiguousarray(target)
    return image, target
