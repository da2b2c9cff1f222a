"""Random augmentation of (image, target) patches: flips, 90-degree rotations,
intensity scale/shift and noise (:func:`augment`); scanner-like intensity
changes (gamma, gain, smooth bias field, noise: :func:`intensity_augment`) and
small rotations / scalings (:func:`small_affine`) for the volume defaults.
Image patches are (C, *spatial)."""
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


def intensity_augment(image: np.ndarray, rng: np.random.Generator, gamma: float = 0.35,
                      contrast: float = 0.25, bias: float = 0.3, noise: float = 0.05) -> np.ndarray:
    """Scanner-like intensity changes of a normalized (C, *spatial) patch.

    A gamma curve (``exp(U(-gamma, gamma))``) on the non-negative part, a
    gain ``1 + U(-contrast, contrast)`` and offset, a smooth multiplicative
    bias field (``exp`` of a random low-order polynomial, up to ``bias``)
    and Gaussian noise of up to ``noise``. Values are relative to the
    normalization (foreground median = 1 for volumes), so the ranges mean
    the same on every image.
    """
    x = np.asarray(image, dtype=np.float32)
    g = np.float32(np.exp(rng.uniform(-gamma, gamma)))
    pos = np.maximum(x, 0)
    x = np.where(x > 0, pos ** g, x).astype(np.float32)
    if bias > 0:
        x = x * bias_field(x.shape[1:], rng, bias)[None]
    x = x * np.float32(1 + rng.uniform(-contrast, contrast)) + np.float32(rng.uniform(-0.05, 0.05))
    if noise > 0:
        x = x + np.float32(rng.uniform(0, noise)) * rng.standard_normal(x.shape, dtype=np.float32)
    return x.astype(np.float32, copy=False)


def bias_field(shape: tuple, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A smooth positive field ``exp(p)``, ``p`` a random quadratic with |p| <= ``strength``."""
    grids = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32) for n in shape], indexing="ij")
    terms = list(grids) + [a * b for i, a in enumerate(grids) for b in grids[i:]]
    p = sum(np.float32(rng.uniform(-1, 1)) * t for t in terms)
    p = p / (np.abs(p).max() + 1e-6) * np.float32(rng.uniform(0, strength))
    return np.exp(p).astype(np.float32)


def small_affine(image: np.ndarray, target: np.ndarray | None, rng: np.random.Generator,
                 degrees: float = 10.0, scale: float = 0.1, fill=0.0, ignore=-1):
    """Rotate a 2D (C, H, W) patch by up to ``degrees`` and scale by ``1 +- scale`` about its centre.

    The image is interpolated linearly (``fill`` outside), the target with
    nearest neighbours (``ignore`` outside, so padding is never learned as a class).
    """
    from scipy import ndimage as ndi

    if image.ndim != 3:
        return image, target
    a = np.deg2rad(rng.uniform(-degrees, degrees))
    s = 1 + rng.uniform(-scale, scale)
    mat = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / s
    centre = (np.array(image.shape[1:]) - 1) / 2
    offset = centre - mat @ centre
    out = np.stack([ndi.affine_transform(c, mat, offset, order=1, cval=float(fill)) for c in image])
    if target is not None:
        target = ndi.affine_transform(target, mat, offset, order=0, cval=ignore).astype(target.dtype)
    return out.astype(np.float32), target
