"""The training loop shared by every task, front end and model.

``Trainer.run()`` is a generator of ``Progress`` events, so the CLI drives it
with a tqdm bar and the GUI from a background worker; ``fit`` runs it to the
end. A cancel token stops it after the current step; the best model so far
(lowest validation loss) is kept and, with ``checkpoint``, written atomically
each time it improves.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Iterator

import numpy as np

import autograd as torch

from ..modelfile import BioimgModel, ModelInfo, save_model
from ..models import build_model
from .config import CancelToken, Progress, TrainConfig
from .crops import object_crops, object_size
from .labels import (check_labels, classify_plan, interpret_labels, label_name, label_targets,
                     plan_extra)
from .prep import (TrainingDiverged, check_patch, default_patch, image_name, input_cause, labels_spatial,
                   normalize_finite, normalize_image, to_channel_first)
from .tasks import ClassifyTask, DenoiseTask, DenseTask


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Trainer:
    """Train a model for ``config.task`` on one or many images.

    Parameters
    ----------
    images : array, Image, or list of them
        2D or 3D images (any size); channels allowed with ``axes`` (e.g. "CYX").
    labels : array or list, optional
        segment / instance: label images whose values mean what
        ``bioimg.training.labels`` says (binary, multi-class or instance
        masks with 0 = background; sparse painting with 0 = unlabelled; set
        ``config.label_kind`` / ``config.labels_painted`` to override the
        detection; ``self.label_plan`` holds the decision); classify: class
        ids painted on objects; denoise: clean images for supervised
        training (None = self-supervised).
    config : TrainConfig
    image_classes : list of int, optional
        classify: one class id (1..K) per image (image-level labels).
    cancel : CancelToken, optional
    checkpoint : path, optional
        Where the best model is written (atomically) whenever it improves.
    """

    def __init__(self, images, labels=None, config: TrainConfig | None = None, *, axes=None,
                 image_classes=None, cancel: CancelToken | None = None, checkpoint=None):
        self.config = config or TrainConfig()
        cfg = self.config
        self.cancel = cancel if cancel is not None else CancelToken()
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        imgs = _as_list(images)
        if not imgs:
            raise ValueError("no training images given")
        self._axes_arg = axes
        arrays, spatial = zip(*(to_channel_first(im, axes) for im in imgs))
        if len(set(spatial)) > 1 or len({a.shape[0] for a in arrays}) > 1:
            raise ValueError("all training images need the same axes and number of channels")
        self.axes, ndim, channels = spatial[0], len(spatial[0]), arrays[0].shape[0]
        normed = [normalize_finite(a, cfg.normalization, image_name(im, i, len(imgs)),
                                   "left out of the loss") for i, (a, im) in enumerate(zip(arrays, imgs))]
        self.images = [n for n, _, _ in normed]
        self.norm_params = [p for _, p, _ in normed]
        self._bad_pixels = [b for _, _, b in normed]  # NaN/inf pixels: IGNORE targets
        labels = _as_list(labels)
        if labels is not None and len(labels) != len(imgs):
            raise ValueError(f"got {len(imgs)} images but {len(labels)} label images")
        model_kw = self._model_defaults(ndim, channels)
        model_kw.update(_size_options(cfg.model, cfg.model_kwargs))
        probe = build_model(cfg.model, **model_kw)
        multiple = probe.size_multiple
        shapes = [im.shape[1:] for im in self.images]
        self.class_names = list(cfg.class_names or [])
        self.task = self._make_task(labels, image_classes, ndim, multiple, shapes, model_kw)
        self.model_kw = model_kw
        self.net = build_model(cfg.model, **model_kw)
        self.history: list[dict] = []
        self._best_state = None

    # -- setup ------------------------------------------------------------------
    def _model_defaults(self, ndim, channels):
        cfg = self.config
        if cfg.task == "classify":
            return dict(in_channels=channels, ndim=ndim, num_classes=2)
        if cfg.task == "denoise":
            return dict(in_channels=channels, ndim=ndim, depth=2, base_width=16)
        return dict(in_channels=channels, ndim=ndim, depth=3 if ndim == 2 else 2, base_width=16)

    def _patch(self, ndim, multiple, shapes):
        cfg = self.config
        if cfg.patch_size:
            return check_patch(cfg.patch_size, ndim, multiple)
        return default_patch(shapes, ndim, multiple)

    def _make_task(self, labels, image_classes, ndim, multiple, shapes, model_kw):
        cfg = self.config
        self.label_plan = None  # denoise: labels are clean images, nothing to interpret
        if cfg.task in ("segment", "instance"):
            if labels is None:
                raise ValueError(f"task {cfg.task!r} needs labels")
            names = [label_name(lab, i, len(labels)) for i, lab in enumerate(labels)]
            labs = [check_labels(labels_spatial(lab, s, n), n) for lab, s, n in zip(labels, shapes, names)]
            self.patch = self._patch(ndim, multiple, shapes)
            weights = cfg.class_weights
            plan = self.label_plan = interpret_labels(labs, cfg.task, cfg.label_kind,
                                                      painted=cfg.labels_painted, names=names)
            targets = [label_targets(lab, plan, cfg.task, bad)
                       for lab, bad in zip(labs, self._bad_pixels)]
            k = plan.num_classes
            self.class_names = plan.class_names(self.class_names)
            if cfg.task == "instance":
                weights = weights or [1.0, 1.0, 4.0]  # boundaries are rare but decide the split
            model_kw["out_channels"] = k
            return DenseTask(self.images, targets, self.patch, cfg, self.rng, k, weights)
        if cfg.task == "denoise":
            self.patch = self._patch(ndim, multiple, shapes)
            clean = None
            if labels is not None:  # supervised: clean images in the same layout as the noisy ones
                clean = [normalize_image(to_channel_first(c, self._axes_arg)[0], cfg.normalization)[0]
                         for c in labels]
                for c, im in zip(clean, self.images):
                    if c.shape != im.shape:
                        raise ValueError(f"clean image shape {c.shape[1:]} does not match the noisy "
                                         f"image {im.shape[1:]}")
            return DenoiseTask(self.images, clean, self.patch, cfg, self.rng)
        return self._classify_task(labels, image_classes, ndim, multiple, model_kw)

    def _classify_task(self, labels, image_classes, ndim, multiple, model_kw):
        cfg = self.config
        crops, classes = [], []
        if image_classes is not None:
            if len(image_classes) != len(self.images):
                raise ValueError(f"got {len(self.images)} images but {len(image_classes)} image classes")
            self.patch = self._patch(ndim, multiple, [im.shape[1:] for im in self.images])
            from .sampling import PatchSampler
            for im, c in zip(self.images, image_classes):
                sampler = PatchSampler([im], [None], self.patch, self.rng)
                crops += [sampler.sample()[0] for _ in range(8)]
                classes += [int(c)] * 8
        elif labels is not None:
            names = [label_name(lab, i, len(labels)) for i, lab in enumerate(labels)]
            labs = [check_labels(labels_spatial(lab, im.shape[1:], n), n)
                    for lab, im, n in zip(labels, self.images, names)]
            size = (cfg.crop_size,) * ndim if cfg.crop_size else object_size(labs[0], multiple)
            self.patch = check_patch(size, ndim, multiple)
            for im, lab in zip(self.images, labs):
                c, k = object_crops(im, lab, self.patch)
                crops += c
                classes += k
        else:
            raise ValueError("classification needs image_classes (one per image) or object labels")
        if not crops:
            raise ValueError("labels are empty: paint at least one object per class")
        k = max(classes)
        if k < 2:
            raise ValueError("classification needs at least two classes (ids 1 and 2)")
        model_kw["num_classes"] = k
        self.class_names = self.class_names or [f"class {i}" for i in range(1, k + 1)]
        self.label_plan = classify_plan(k, from_objects=labels is not None)
        return ClassifyTask(crops, [c - 1 for c in classes], cfg, self.rng, k)

    # -- loop -------------------------------------------------------------------
    def _lr(self, progress: float) -> float:
        cfg = self.config
        if cfg.schedule == "constant":
            return cfg.lr
        warm = min(1.0, progress / cfg.warmup) if cfg.warmup > 0 else 1.0
        return cfg.lr * warm * max(0.02, 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))

    def run(self) -> Iterator[Progress]:
        """Train, yielding a ``Progress`` event after every step and every epoch."""
        cfg, net, task = self.config, self.net, self.task
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        total = cfg.epochs * cfg.steps_per_epoch
        start = time.perf_counter()
        # With a time budget an epoch also ends every budget / val_points seconds, so validation
        # draws a curve of ~val_points points however fast or slow the steps are.
        slice_s = cfg.time_budget / max(1, cfg.val_points) if cfg.time_budget else None

        def eta(step: int, elapsed: float) -> float | None:
            """Seconds left: the step bound at the current pace, capped by the time budget."""
            left = elapsed / step * (total - step) if step else None
            if cfg.time_budget:
                left = min(left if left is not None else math.inf, max(0.0, cfg.time_budget - elapsed))
            return left
        best_loss, best_epoch, bad_epochs = math.inf, None, 0
        step, stop = 0, ""
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            losses = []
            for _ in range(cfg.steps_per_epoch):
                elapsed = time.perf_counter() - start
                frac = step / total
                if cfg.time_budget:
                    frac = max(frac, elapsed / cfg.time_budget)
                lr = self._lr(frac)
                for g in opt.param_groups:
                    g["lr"] = lr
                x, aux = task.batch()
                loss = task.loss(net(x), aux)
                value = float(loss.item())
                if not math.isfinite(value):  # checked before the step: the weights stay finite
                    raise TrainingDiverged(f"training diverged at step {step} (loss {value})"
                                           f"{input_cause(self.images, x.numpy())}; lower the learning rate")
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(value)
                step += 1
                elapsed = time.perf_counter() - start
                yield Progress("step", epoch, cfg.epochs, step, total, value, lr, elapsed,
                               metric_name=task.metric_name, best_epoch=best_epoch, eta=eta(step, elapsed))
                if self.cancel.cancelled:
                    stop = "cancelled"
                    break
                if cfg.time_budget and elapsed >= cfg.time_budget:
                    stop = "time budget reached"
                    break
                if slice_s and elapsed >= epoch * slice_s:
                    break  # a time-sliced epoch: validate now
            val_loss, metric = self._validate()
            record = {"epoch": epoch, "step": step, "loss": float(np.mean(losses)) if losses else None,
                      "val_loss": val_loss, "val_metric": metric, "lr": lr,
                      "elapsed": time.perf_counter() - start}
            self.history.append(record)
            score = val_loss if val_loss is not None else record["loss"]
            if score is not None and score < best_loss:
                best_loss, best_epoch, bad_epochs = score, epoch, 0
                self._keep_best()
            else:
                bad_epochs += 1
            yield Progress("epoch", epoch, cfg.epochs, step, total, record["loss"] or float("nan"), lr,
                           record["elapsed"], val_loss, metric, task.metric_name, best_epoch,
                           eta=0.0 if stop else eta(step, record["elapsed"]))
            if not stop and cfg.patience is not None and bad_epochs > cfg.patience:
                stop = f"early stopping (no improvement for {cfg.patience} epochs)"
            if stop:
                break
        self._restore_best()
        kind = "cancelled" if stop == "cancelled" else "done"
        yield Progress(kind, len(self.history), cfg.epochs, step, total,
                       self.history[-1]["loss"] if self.history else float("nan"), lr,
                       time.perf_counter() - start, best_epoch=best_epoch, message=stop or "finished")

    def _validate(self):
        self.net.eval()
        with torch.no_grad():
            result = self.task.validate(self.net)
        self.net.train()
        return result

    def _keep_best(self) -> None:
        self._best_state = {k: v.numpy().copy() for k, v in self.net.state_dict().items()}
        if self.checkpoint is not None:
            self._restore_into_copy_and_save()

    def _restore_into_copy_and_save(self) -> None:
        save_model(self.result, self.checkpoint)

    def _restore_best(self) -> None:
        if self._best_state is not None:
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in self._best_state.items()})
        self.net.eval()

    @property
    def result(self) -> BioimgModel:
        """The model with its metadata (best weights once ``run`` has finished)."""
        cfg = self.config
        info = ModelInfo(task=cfg.task, architecture=cfg.model, config=dict(self.model_kw),
                         axes=self.axes, patch_size=list(self.patch),
                         normalization=dict(cfg.normalization), class_names=self.class_names,
                         history=list(self.history),
                         extra={"train_normalization": self.norm_params, "seed": cfg.seed,
                                **plan_extra(self.label_plan)})
        return BioimgModel(self.net, info)


def _size_options(model: str, kwargs: dict) -> dict:
    """Let ``depth``/``base_width`` size a classifier too (widths w, 2w, 4w, ...)."""
    kwargs = dict(kwargs)
    if model == "classifier" and ("depth" in kwargs or "base_width" in kwargs):
        depth = int(kwargs.pop("depth", 3))
        width = int(kwargs.pop("base_width", 16))
        kwargs.setdefault("widths", [width * 2 ** i for i in range(depth)])
    return kwargs


def fit(images, labels=None, config: TrainConfig | None = None, *, progress=None, **kwargs) -> BioimgModel:
    """Train to the end and return the model; ``progress(event)`` sees every event."""
    trainer = Trainer(images, labels, config, **kwargs)
    for event in trainer.run():
        if progress is not None:
            progress(event)
    return trainer.result
