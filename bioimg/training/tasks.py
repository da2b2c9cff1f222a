"""Per-task training logic: how batches are drawn, the loss, and validation.

Each task turns prepared images (float32 (C, *spatial)) and targets into
batches, a loss on the network output, and a validation score, so the
training loop itself is the same for all tasks.
"""
from __future__ import annotations

import numpy as np

import autograd as torch
import autograd.nn.functional as F

from .augment import augment
from .n2v import blind_spot_batch
from .sampling import PatchSampler, pad_to, split_validation
from .targets import IGNORE


def add_confusion(conf: np.ndarray, y: np.ndarray, pred: np.ndarray) -> None:
    """Add the labelled pixels of targets ``y`` and predicted classes ``pred`` to ``conf`` (K, K)."""
    keep = y != IGNORE
    k = conf.shape[0]
    conf += np.bincount(y[keep].astype(np.int64) * k + pred[keep], minlength=k * k).reshape(conf.shape)


def confusion_mean_iou(conf: np.ndarray) -> float:
    """Mean IoU over the classes in the ground truth or the prediction, background included
    (a constant prediction scores at most 1/2)."""
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present]))


class DenseTask:
    """Semantic / instance segmentation: per-pixel classes, 0..K-1, IGNORE = unlabelled."""

    metric_name = "mean IoU"

    def __init__(self, images, targets, patch, config, rng, num_classes, class_weights=None):
        self.config, self.rng, self.patch = config, rng, patch
        self.num_classes = num_classes
        train_t, self.val_regions = split_validation(targets, patch, config.val_fraction, rng)
        self.images, self.val_targets = images, targets
        if not any((t != IGNORE).any() for t in train_t):
            raise ValueError("no labelled pixels left for training: paint more labels")
        present = np.unique(np.concatenate([np.unique(t) for t in train_t]))
        present = present[present != IGNORE]
        if len(present) < 2:  # one class to learn: a constant model would score perfectly
            raise ValueError(f"only class index {int(present[0])} is left to learn after the validation "
                             "split: label more of the other classes or lower the validation fraction")
        self.sampler = PatchSampler(images, train_t, patch, rng)
        w = class_weights
        self.weight = torch.tensor(np.asarray(w, dtype=np.float32)) if w else None

    def batch(self):
        # A batch without one labelled pixel (all patches landed on unpainted areas, likely with
        # sparse painting and small batches) has an undefined mean loss (0/0 = NaN): draw again.
        for _ in range(100):
            xs, ys = [], []
            for _ in range(self.config.batch_size):
                x, y = self.sampler.sample()
                if self.config.augment:
                    x, y = augment(x, y, self.rng)
                xs.append(x)
                ys.append(y)
            y = np.stack(ys)
            if (y != IGNORE).any():
                break
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(y.astype(np.int64))

    def loss(self, out, y):
        loss = F.cross_entropy(out, y, weight=self.weight, ignore_index=IGNORE)
        if self.config.dice_weight:
            loss = loss + self.config.dice_weight * F.dice_loss(out, y, ignore_index=IGNORE)
        return loss

    def validate(self, net):
        if not self.val_regions:
            return None, None
        total, count = 0.0, 0
        conf = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        for i, sl in self.val_regions:
            x = pad_to(self.images[i][(slice(None),) + sl], self.patch, lead=1)
            y = pad_to(self.val_targets[i][sl], self.patch, mode="constant", value=IGNORE)
            out = net(torch.from_numpy(x[None]))
            yt = torch.from_numpy(y[None].astype(np.int64))
            n = int((y != IGNORE).sum())
            if n == 0:
                continue
            total += F.cross_entropy(out, yt, ignore_index=IGNORE, reduction="sum").item()
            count += n
            add_confusion(conf, y, out.numpy()[0].argmax(0))
        if count == 0:
            return None, None
        # With fewer than two classes in the validation tiles no score is meaningful.
        if (conf.sum(1) > 0).sum() < 2:
            return total / count, None
        return total / count, confusion_mean_iou(conf)


class DenoiseTask:
    """Self-supervised blind-spot denoising, or supervised (noisy, clean) pairs."""

    metric_name = ""

    def __init__(self, images, clean, patch, config, rng):
        self.config, self.rng, self.patch = config, rng, patch
        self.supervised = clean is not None
        ignore_t = [np.zeros(im.shape[1:], np.int64) for im in images]
        _, self.val_regions = split_validation(ignore_t, patch, config.val_fraction, rng)
        self.images = images
        self.sampler = PatchSampler(images, clean if self.supervised else [None] * len(images), patch, rng)
        # fixed validation batch: the same corruption every epoch
        vrng = np.random.default_rng(12345)
        self.val = []
        for i, sl in self.val_regions:
            x = pad_to(images[i][(slice(None),) + sl], patch, lead=1)[None]
            if self.supervised:
                self.val.append((x, pad_to(clean[i][(slice(None),) + sl], patch, lead=1)[None], None))
            else:
                xc, m = blind_spot_batch(x, config.n2v_fraction, vrng)
                self.val.append((xc, x, m))

    def batch(self):
        xs, ys = [], []
        for _ in range(self.config.batch_size):
            x, y = self.sampler.sample()
            if self.config.augment:
                x, y = augment(x, y, self.rng, intensity=0.0, noise=0.0)
            xs.append(x)
            ys.append(y if y is not None else x)
        x, y = np.stack(xs), np.stack(ys)
        if self.supervised:
            return torch.from_numpy(x), (torch.from_numpy(y), None)
        xc, mask = blind_spot_batch(x, self.config.n2v_fraction, self.rng)
        return torch.from_numpy(xc), (torch.from_numpy(x), torch.from_numpy(mask))

    def loss(self, out, aux):
        target, mask = aux
        if mask is None:
            return F.mse_loss(out, target)
        return (((out - target) ** 2) * mask).sum() / mask.sum()

    def validate(self, net):
        if not self.val:
            return None, None
        losses = []
        for x, target, mask in self.val:
            out = net(torch.from_numpy(x))
            if mask is None:
                losses.append(F.mse_loss(out, torch.from_numpy(target)).item())
                continue
            m = torch.from_numpy(mask)
            losses.append(((((out - torch.from_numpy(target)) ** 2) * m).sum() / m.sum()).item())
        return float(np.mean(losses)), None


class ClassifyTask:
    """Image-level or object-level classification from crops."""

    metric_name = "accuracy"

    def __init__(self, crops, classes, config, rng, num_classes):
        self.config, self.rng, self.num_classes = config, rng, num_classes
        n = len(crops)
        order = rng.permutation(n)
        n_val = int(round(config.val_fraction * n)) if n > 4 else 0
        self.val_idx, self.train_idx = order[:n_val], order[n_val:]
        self.crops, self.classes = crops, np.asarray(classes, dtype=np.int64)

    def batch(self):
        idx = self.rng.choice(self.train_idx, size=self.config.batch_size)
        xs = []
        for i in idx:
            x = self.crops[i]
            if self.config.augment:
                x, _ = augment(x, None, self.rng)
            xs.append(x)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(self.classes[idx])

    def loss(self, out, y):
        return F.cross_entropy(out, y)

    def validate(self, net):
        if len(self.val_idx) == 0:
            return None, None
        x = torch.from_numpy(np.stack([self.crops[i] for i in self.val_idx]))
        y = self.classes[self.val_idx]
        out = net(x)
        loss = F.cross_entropy(out, torch.from_numpy(y)).item()
        return loss, float((out.numpy().argmax(1) == y).mean())
