"""Slice-wise training of a 2D network on volumes: 2D slices drawn along all three axes.

Used for single-object segmentation of volumes (``bioimg.training.volume``):
on an isotropic working grid the three orientations look alike, so one 2D
network learns from axial, coronal and sagittal slices and prediction
averages the three (``bioimg.inference.volume``). Validation uses whole
slices held out along each axis.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

import autograd as torch
import autograd.nn.functional as F

from .augment import intensity_augment, small_affine
from .synth import distance_outside, masked_background, synthetic_surround
from .targets import IGNORE
from .tasks import DenseTask, add_confusion, confusion_mean_iou


def _fit(arr: np.ndarray, shape: tuple, origin: tuple, value, lead: int) -> np.ndarray:
    """Crop ``arr``'s trailing dims at ``origin`` (may be negative) to ``shape``, padding with ``value``."""
    out = np.full(arr.shape[:lead] + tuple(shape), value, dtype=arr.dtype)
    src, dst = [slice(None)] * lead, [slice(None)] * lead
    for n, s, o in zip(arr.shape[lead:], shape, origin):
        lo, hi = max(o, 0), min(o + s, n)
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - o, lo - o + max(hi - lo, 0)))
    out[tuple(dst)] = arr[tuple(src)]
    return out


class SliceTask:
    """2D slices of (C, Z, Y, X) volumes with dense (Z, Y, X) targets (0..K-1, IGNORE)."""

    metric_name = "mean IoU"

    def __init__(self, volumes, targets, patch, config, rng, num_classes, class_weights=None,
                 spacing: float = 1.0, max_val: int = 16):
        self.config, self.rng, self.patch = config, rng, tuple(patch)
        self.num_classes, self.spacing = num_classes, float(spacing)
        self.volumes, self.targets = volumes, targets
        w = class_weights
        self.weight = torch.tensor(np.asarray(w, dtype=np.float32)) if w else None
        # masked volumes (constant outside the object): the distance of each masked voxel from the data
        self.dist = []
        for v in volumes:
            bg = masked_background(v)
            self.dist.append(None if bg is None else distance_outside(bg, (self.spacing,) * 3))
        self.fill = [float(v.min()) for v in volumes]
        # slices that hold the object (sampled most), and held-out validation slices, per volume and axis
        self.object_slices, self.train_slices, self.centres, val = [], [], [], []
        for i, t in enumerate(targets):
            obj = (t > 0) & (t != IGNORE)
            box = [np.flatnonzero(obj.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
            self.centres.append([int((b[0] + b[-1]) // 2) if len(b) else n // 2 for b, n in zip(box, t.shape)])
            per_axis_obj, per_axis_train = [], []
            for axis in range(3):
                has = obj.any(axis=tuple(a for a in range(3) if a != axis))
                idx = np.flatnonzero(has) if has.any() else np.arange(t.shape[axis])
                n_val = int(round(config.val_fraction * len(idx))) if len(idx) > 4 else 0
                held = rng.choice(idx, n_val, replace=False) if n_val else np.array([], int)
                val += [(i, axis, int(j)) for j in held]
                keep = np.setdiff1d(np.arange(t.shape[axis]), held)
                per_axis_train.append(keep)
                per_axis_obj.append(np.intersect1d(idx, keep))
            self.object_slices.append(per_axis_obj)
            self.train_slices.append(per_axis_train)
        if len(val) > max_val:
            val = [val[k] for k in sorted(rng.choice(len(val), max_val, replace=False))]
        vrng = np.random.default_rng(12345)  # the same synthetic surround every validation
        self.val = [self._slice(i, a, j, vrng, train=False) for i, a, j in val]
        sizes = np.array([t.size for t in targets], dtype=np.float64)
        self.weights = sizes / sizes.sum()
        if not any((t > 0).any() for t in targets):
            raise ValueError("the labels hold no object to learn")

    def _slice(self, i: int, axis: int, j: int, rng, train: bool):
        vol, tgt = self.volumes[i], self.targets[i]
        x = np.take(vol, j, axis=axis + 1)
        y = np.take(tgt, j, axis=axis)
        if self.dist[i] is not None and (not train or rng.random() < 0.9):
            x = synthetic_surround(x, np.take(self.dist[i], j, axis=axis), rng, self.spacing)
        centre = [c for a, c in enumerate(self.centres[i]) if a != axis]  # the object's, in this slice
        jitter = (lambda p: int(rng.integers(-(p // 8), p // 8 + 1))) if train else (lambda p: 0)
        origin = tuple(c - p // 2 + jitter(p) for c, p in zip(centre, self.patch))
        fill = float(x.min())
        x = _fit(x, self.patch, origin, np.float32(fill), lead=1)
        y = _fit(y, self.patch, origin, IGNORE, lead=0)
        return x, y

    def batch(self):
        cfg, rng = self.config, self.rng
        xs, ys = [], []
        for _ in range(cfg.batch_size):
            i = int(rng.choice(len(self.volumes), p=self.weights))
            axis = int(rng.integers(3))
            pool = self.object_slices[i][axis] if rng.random() < 0.85 else self.train_slices[i][axis]
            if len(pool) == 0:
                pool = self.train_slices[i][axis]
            x, y = self._slice(i, axis, int(pool[rng.integers(len(pool))]), rng, train=True)
            if cfg.augment:
                for ax in (1, 2):
                    if rng.random() < 0.5:
                        x, y = np.flip(x, ax), np.flip(y, ax - 1)
                if x.shape[-1] == x.shape[-2] and rng.random() < 0.5:
                    k = int(rng.integers(1, 4))
                    x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k)
                x, y = small_affine(np.ascontiguousarray(x), np.ascontiguousarray(y), rng,
                                    fill=float(x.min()), ignore=IGNORE)
                if rng.random() < 0.3:  # blurred or lower-resolution scans
                    x = ndi.gaussian_filter(x, (0, *[rng.uniform(0.3, 1.2)] * 2)).astype(np.float32)
                x = intensity_augment(x, rng)
            xs.append(np.ascontiguousarray(x, dtype=np.float32))
            ys.append(np.ascontiguousarray(y))
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.int64))

    loss = DenseTask.loss  # the same weighted cross-entropy (+ Dice) as patch training

    def validate(self, net):
        if not self.val:
            return None, None
        total, count = 0.0, 0
        conf = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        for start in range(0, len(self.val), 8):
            chunk = self.val[start:start + 8]
            x = np.stack([c[0] for c in chunk])
            y = np.stack([c[1] for c in chunk]).astype(np.int64)
            out = net(torch.from_numpy(x))
            total += F.cross_entropy(out, torch.from_numpy(y), ignore_index=IGNORE, reduction="sum").item()
            count += int((y != IGNORE).sum())
            add_confusion(conf, y, out.numpy().argmax(1))
        if count == 0:
            return None, None
        return total / count, confusion_mean_iou(conf)
