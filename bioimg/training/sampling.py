"""Patch sampling biased towards labelled pixels, with a tile-based validation split."""
from __future__ import annotations

import numpy as np

from .targets import IGNORE


def pad_to(arr: np.ndarray, shape: tuple, mode: str = "reflect", value=0, lead: int = 0) -> np.ndarray:
    """Pad the trailing spatial dims of ``arr`` up to ``shape`` (at the end)."""
    spatial = arr.shape[lead:]
    widths = [(0, 0)] * lead + [(0, max(0, s - a)) for a, s in zip(spatial, shape)]
    if all(w == (0, 0) for w in widths):
        return arr
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=value)
    # reflect needs size > pad; fall back to symmetric/edge for tiny inputs
    ok = all(a > w[1] for a, w in zip(spatial, widths[lead:]))
    return np.pad(arr, widths, mode="reflect" if ok else "edge")


def split_validation(targets: list, patch: tuple, fraction: float, rng: np.random.Generator,
                     ignore=IGNORE):
    """Hold out whole tiles of labelled pixels for validation.

    Returns (train_targets, val_regions): training targets with held-out
    pixels set to ``ignore`` and a list of (image index, slices) tiles.
    """
    train, regions = [], []
    for i, t in enumerate(targets):
        t = t.copy()
        labelled = t != ignore if t.dtype.kind in "iu" else np.ones(t.shape, bool)
        grid = [range(0, max(s - p, 0) + 1, p) if s >= p else [0] for s, p in zip(t.shape, patch)]
        tiles = [tuple(slice(o, o + p) for o, p in zip(origin, patch))
                 for origin in np.array(np.meshgrid(*grid, indexing="ij")).reshape(len(patch), -1).T]
        tiles = [tl for tl in tiles if labelled[tl].any()]
        if fraction > 0 and len(tiles) > 1:
            n_val = max(1, int(round(fraction * len(tiles))))
            n_val = min(n_val, len(tiles) - 1)
            for j in rng.choice(len(tiles), n_val, replace=False):
                regions.append((i, tiles[j]))
                t[tiles[j]] = ignore
        train.append(t)
    return train, regions


class PatchSampler:
    """Draw (image, target) patches; centres fall on labelled pixels with prob ``p_labelled``."""

    def __init__(self, images: list, targets: list, patch: tuple, rng: np.random.Generator,
                 p_labelled: float = 0.9, ignore=IGNORE):
        self.images, self.targets = images, targets
        self.patch = tuple(patch)
        self.rng, self.p_labelled, self.ignore = rng, p_labelled, ignore
        self.labelled = []
        for t in targets:
            if t is None or t.dtype.kind == "f":
                self.labelled.append(None)
            else:
                self.labelled.append(np.flatnonzero((t != ignore).reshape(-1)))
        sizes = np.array([np.prod(im.shape[1:]) for im in images], dtype=np.float64)
        self.weights = sizes / sizes.sum()

    def sample(self):
        rng = self.rng
        i = int(rng.choice(len(self.images), p=self.weights))
        image, target = self.images[i], self.targets[i]
        spatial = image.shape[1:]
        lab = self.labelled[i]
        if lab is not None and len(lab) and rng.random() < self.p_labelled:
            centre = np.unravel_index(int(lab[rng.integers(len(lab))]), spatial)
            origin = [int(np.clip(c - p // 2 + rng.integers(-(p // 4), p // 4 + 1), 0, max(s - p, 0)))
                      for c, p, s in zip(centre, self.patch, spatial)]
        else:
            origin = [int(rng.integers(0, max(s - p, 0) + 1)) for p, s in zip(self.patch, spatial)]
        sl = tuple(slice(o, o + p) for o, p in zip(origin, self.patch))
        img = pad_to(image[(slice(None),) + sl], self.patch, lead=1)
        if target is None:
            return img, None
        if target.dtype.kind == "f":
            tgt = pad_to(target[(slice(None),) + sl], self.patch, lead=1)
        else:
            tgt = pad_to(target[sl], self.patch, mode="constant", value=self.ignore)
        return img, tgt
