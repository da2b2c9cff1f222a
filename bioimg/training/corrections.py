"""Human in the loop: corrected labels weigh more, and labels can change while training runs.

- :func:`corrected_mask`: the pixels a user changed in a predicted label
  image (and, for instance masks, the whole objects they touched).
- :class:`WeightedDenseTask`: a ``DenseTask`` whose loss weighs corrected
  pixels ``config.correction_weight`` times and whose patches are centred on
  them more often. The flag travels with the target through sampling and
  augmentation as ``target + K`` (K classes), so flips and rotations move it
  with its pixel and no other module needs to know about it.
- :func:`retarget`: new targets for a running task (labels painted during
  training), keeping its validation tiles.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation

import autograd as torch
import autograd.nn.functional as F

from .sampling import PatchSampler
from .targets import IGNORE
from .tasks import DenseTask

OVERSAMPLE = 4  # a corrected pixel is this many times as likely a patch centre as another labelled one


def corrected_mask(labels: np.ndarray, predicted: np.ndarray, objects: bool = True,
                   margin: int = 2) -> np.ndarray:
    """Pixels where ``labels`` differ from ``predicted``, grown by ``margin`` pixels.

    With ``objects`` (instance masks) every object of ``labels`` that holds a
    changed pixel counts as corrected as a whole: its outline is what the
    user fixed.
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels shape {labels.shape} does not match the prediction's {predicted.shape}")
    changed = labels != predicted
    if not changed.any():
        return changed
    if objects:
        ids = np.unique(labels[changed])
        ids = ids[ids != 0]
        if ids.size:
            changed |= np.isin(labels, ids)
    if margin:
        changed = binary_dilation(changed, iterations=margin)
    return changed


def untrusted_outlines(labels: np.ndarray, corrected: np.ndarray, width: int = 2) -> np.ndarray:
    """The outlines of predicted objects nobody corrected, ``width`` pixels to either side.

    A model trained on its own outlines copies their errors, round after
    round (objects drift, F1 at high IoU falls); leaving these bands out of
    the loss keeps what the prediction says about inside / outside while
    outlines are learned from labels a person drew or corrected.
    """
    from skimage.segmentation import find_boundaries

    band = find_boundaries(np.asarray(labels), mode="thick")
    if width > 1:
        band = binary_dilation(band, iterations=width - 1)
    return band & ~np.asarray(corrected, bool)


def encode(target: np.ndarray, corrected: np.ndarray | None, num_classes: int) -> np.ndarray:
    """``target + K`` where corrected (labelled pixels only); int16 so 2K fits."""
    out = target.astype(np.int16)
    if corrected is not None:
        flag = corrected & (target != IGNORE)
        out[flag] += num_classes
    return out


class WeightedDenseTask(DenseTask):
    """``DenseTask`` with corrected pixels weighted in the loss and favoured by the sampler."""

    def __init__(self, images, targets, corrections, patch, config, rng, num_classes, class_weights=None):
        enc = [encode(t, c, num_classes) for t, c in zip(targets, corrections)]
        super().__init__(images, enc, patch, config, rng, num_classes, class_weights)
        self.val_targets = [self._decode(t)[0] for t in enc]
        self._favour_corrected()

    def _decode(self, y: np.ndarray):
        k = self.num_classes
        flag = y >= k
        return np.where(flag, y - k, y).astype(np.int8), flag

    def _favour_corrected(self) -> None:
        s = self.sampler
        for i, t in enumerate(s.targets):
            if s.labelled[i] is None:
                continue
            extra = np.flatnonzero((t >= self.num_classes).reshape(-1))
            if extra.size:
                s.labelled[i] = np.concatenate([s.labelled[i]] + [extra] * (OVERSAMPLE - 1))

    def loss(self, out, y):
        y_true, flag = self._decode(y.numpy())
        target = torch.from_numpy(y_true.astype(np.int64))
        per_pixel = F.cross_entropy(out, target, weight=self.weight, ignore_index=IGNORE, reduction="none")
        w = np.where(flag, np.float32(self.config.correction_weight), np.float32(1.0))
        w = np.where(y_true == IGNORE, np.float32(0.0), w).astype(np.float32)
        loss = (per_pixel * torch.from_numpy(w)).sum() / float(max(w.sum(), 1e-6))
        if self.config.dice_weight:
            loss = loss + self.config.dice_weight * F.dice_loss(out, target, ignore_index=IGNORE)
        return loss


def retarget(task: DenseTask, targets: list, corrections: list | None = None) -> None:
    """Give a running dense task new targets (same shapes), keeping its validation tiles.

    Called between two steps (the loop's thread): the next batch is drawn from
    the new labels. Validation tiles stay held out, so scores stay comparable.
    """
    weighted = isinstance(task, WeightedDenseTask)
    if weighted:
        corrections = corrections or [None] * len(targets)
        targets = [encode(t, c, task.num_classes) for t, c in zip(targets, corrections)]
    train = [t.copy() for t in targets]
    for i, sl in task.val_regions:
        train[i][sl] = IGNORE
    if not any((t != IGNORE).any() for t in train):
        return  # everything erased: keep training on what it had
    task.sampler = PatchSampler(task.images, train, task.patch, task.rng)
    task.val_targets = [task._decode(t)[0] for t in targets] if weighted else list(targets)
    if weighted:
        task._favour_corrected()


def update_labels(trainer, labels: list, corrections: list | None) -> None:
    """``Trainer.update_labels``: targets from new label images (the run's label plan), then :func:`retarget`."""
    from .labels import label_name, label_targets
    from .prep import labels_spatial
    from .targets import check_labels

    if not isinstance(trainer.task, DenseTask):
        raise ValueError(f"labels cannot change during a {trainer.config.task} run")
    targets = []
    for i, (lab, im, bad) in enumerate(zip(labels, trainer.images, trainer._bad_pixels)):
        lab = check_labels(labels_spatial(lab, im.shape[1:]), label_name(lab, i, len(labels)))
        t = label_targets(lab, trainer.label_plan, trainer.config.task, bad)
        t[t >= trainer.task.num_classes] = IGNORE  # a class this network has no output for
        if corrections is not None and corrections[i] is not None:
            t[untrusted_outlines(lab, corrections[i])] = IGNORE
        targets.append(t)
    retarget(trainer.task, targets, corrections)


def dense_task(trainer, targets: list, labels: list, corrections: list | None, k: int, weights) -> DenseTask:
    """The trainer's dense task: weighted when the labels are a corrected prediction.

    Sparse painting that covers under half the pixels (a few strokes, a few
    slices of a 3D stack) centres every patch on a painted pixel, so no step
    is spent on wholly unlabelled patches.
    """
    cfg = trainer.config
    if corrections is not None and any(c is not None for c in corrections):
        for t, lab, c in zip(targets, labels, corrections):
            if c is not None:  # a corrected prediction: its own outlines are not trusted
                t[untrusted_outlines(lab, c)] = IGNORE
        return WeightedDenseTask(trainer.images, targets, corrections, trainer.patch, cfg, trainer.rng, k, weights)
    task = DenseTask(trainer.images, targets, trainer.patch, cfg, trainer.rng, k, weights)
    labelled = sum(int((t != IGNORE).sum()) for t in targets)
    if trainer.label_plan.kind == "sparse" and labelled < 0.5 * sum(t.size for t in targets):
        task.sampler.p_labelled = 1.0
    return task
