"""Blind-spot (Noise2Void) masking: learn to denoise from the noisy image alone.

A few pixels per patch are replaced by a random neighbour; the network sees
the corrupted patch and the loss compares its output at those pixels with
the original values. Pixel noise is independent, so the only way to predict
a hidden pixel is from its neighbourhood: the clean signal.
"""
from __future__ import annotations

import numpy as np


def blind_spot_batch(batch: np.ndarray, fraction: float, rng: np.random.Generator, radius: int = 2):
    """Return (corrupted batch, mask) for a (N, C, *spatial) float32 batch."""
    n, c = batch.shape[:2]
    spatial = batch.shape[2:]
    npix = int(np.prod(spatial))
    k = max(1, int(round(fraction * npix)))
    corrupted = batch.copy()
    mask = np.zeros(batch.shape, dtype=np.float32)
    for i in range(n):
        flat = rng.choice(npix, size=k, replace=False)
        coords = np.array(np.unravel_index(flat, spatial))
        offsets = rng.integers(-radius, radius + 1, size=coords.shape)
        zero = ~offsets.any(axis=0)
        offsets[0, zero] = 1  # never copy the pixel itself
        src = np.clip(coords + offsets, 0, np.array(spatial)[:, None] - 1)
        for ch in range(c):
            corrupted[(i, ch) + tuple(coords)] = batch[(i, ch) + tuple(src)]
            mask[(i, ch) + tuple(coords)] = 1
    return corrupted, mask
