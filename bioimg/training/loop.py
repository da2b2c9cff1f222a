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
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

import autograd as torch

from ..modelfile import BioimgModel, ModelInfo, save_model
from ..models import build_model
from .config import CancelToken, Progress, TrainConfig
from .checkpoint import check_ident, fingerprint, read_state, restore_state, save_state
from .finetune import adopt_settings, check_input, load_init, load_weights
from .labels import check_labels, interpret_labels, label_name, label_targets, plan_extra
from .prep import (TrainingDiverged, check_patch, default_patch, image_name, input_cause, labels_spatial,
                   normalize_finite, normalize_image, to_channel_first)
from .tasks import DenoiseTask
from .volume import make_task as volume_task, prepare as volume_prepare


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
    init : BioimgModel or path, optional
        Fine-tune: start from this model's weights, architecture and
        normalization (``bioimg.training.finetune``); labels with another
        number of classes replace its head (``self.init_message`` says so).
    state_file : path, optional
        Resumable state (``bioimg.training.checkpoint``), written atomically
        every ``config.checkpoint_every`` steps and when the run is
        cancelled; removed when the run ends otherwise.
    resume : bool
        Continue from ``state_file`` (same inputs and settings required).
    corrections : list of bool arrays, optional
        segment / instance: the labels are a prediction that a user
        corrected; per label image, the corrected pixels
        (``bioimg.training.corrections.corrected_mask``, may be all False).
        They weigh ``config.correction_weight`` times in the loss; outlines
        of uncorrected predicted objects are left out (``untrusted_outlines``).
    """

    def __init__(self, images, labels=None, config: TrainConfig | None = None, *, axes=None,
                 image_classes=None, cancel: CancelToken | None = None, checkpoint=None,
                 init=None, state_file=None, resume: bool = False, corrections=None):
        self.config = config or TrainConfig()
        init_model, self.init_message = None, ""
        if init is not None:  # the model decides architecture and normalization: on a copy of the config
            init_model, source = load_init(init)
            self.config = replace(self.config)
            adopt_settings(self.config, init_model, source)
        cfg = self.config
        self.cancel = cancel if cancel is not None else CancelToken()
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        imgs = _as_list(images)
        if not imgs:
            raise ValueError("no training images given")
        # one object in a physical volume (a brain mask): working grid, 2D slices (bioimg.training.volume)
        imgs, labels, self.config, self.volume = volume_prepare(imgs, _as_list(labels), self.config, axes)
        cfg = self.config
        self._axes_arg = axes
        arrays, spatial = zip(*(to_channel_first(im, axes) for im in imgs))
        if len(set(spatial)) > 1 or len({a.shape[0] for a in arrays}) > 1:
            raise ValueError("all training images need the same axes and number of channels")
        self.axes, ndim, channels = spatial[0], len(spatial[0]), arrays[0].shape[0]
        if cfg.batch_size is None:  # auto: a 3D step of 8 patches takes seconds on a laptop; 2 keep 3D runs practical
            flat = ndim == 2 or self.volume is not None  # volume defaults train 2D slices
            self.config = cfg = replace(cfg, batch_size=8 if flat else 2)
        if init_model is not None:
            check_input(init_model, ndim, channels, source)
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
        self._corrections = _as_list(corrections)
        self.task = self._make_task(labels, image_classes, ndim, multiple, shapes, model_kw)
        self.model_kw = model_kw
        self.net = build_model(cfg.model, **model_kw)
        if init_model is not None:
            k = model_kw.get("out_channels", model_kw.get("num_classes"))
            self.init_message = load_weights(self.net, init_model, source, k)
            if not cfg.class_names:
                names = list(init_model.info.class_names or [])
                self.class_names = names if len(names) == len(self.class_names) else self.class_names
        self.history: list[dict] = []
        self._best_state = None
        self.state_file = Path(state_file) if state_file else None
        self._ident = fingerprint(cfg, list(arrays) + [np.asarray(getattr(lab, "data", lab))
                                                       for lab in (labels or [])])
        self.paused = 0.0  # seconds spent outside training (e.g. a live preview); not counted as training time
        self._resume, self.resumed_step = None, 0
        if resume:
            if self.state_file is None:
                raise ValueError("resume needs the state file of the interrupted run")
            meta, saved = read_state(self.state_file)
            check_ident(meta, self._ident, self.state_file)
            self._resume = (meta, saved)
            self.resumed_step = int(meta["loop"]["step"])

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
            if self.volume is not None:
                return volume_task(self.volume, self, targets, k, weights)
            from .corrections import dense_task  # corrected predictions, sparse painting

            return dense_task(self, targets, labs, self._corrections, k, weights)
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
        from .classify_setup import classify_task

        return classify_task(self, labels, image_classes, ndim, multiple, model_kw)

    def update_labels(self, labels, corrections=None) -> None:
        """Train on new label images from the next step on (labels painted while training runs).

        Same shapes and meaning as the labels the run started with; classes
        beyond the run's (a new id painted) are left out. Call it between two
        steps, from the thread that iterates :meth:`run`.
        """
        from .corrections import update_labels

        update_labels(self, _as_list(labels), _as_list(corrections))

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
        # The loop position, all plain data: what a checkpoint stores and a resumed run starts from.
        pos = {"epoch": 1, "in_epoch": 0, "losses": [], "step": 0, "best_loss": None, "best_epoch": None,
               "bad_epochs": 0, "elapsed": 0.0, "history": []}
        if self._resume is not None:
            meta, saved = self._resume
            self._best_state = restore_state(meta, saved, net=net, opt=opt, rng=self.rng)
            pos = dict(meta["loop"])
            self.history = list(pos["history"])
            self._resume = None
        start = time.perf_counter() - pos["elapsed"]

        def clock() -> float:
            """Training time so far: wall time minus what the caller did between steps (``pause``)."""
            return time.perf_counter() - start - self.paused
        # With a time budget an epoch also ends every budget / val_points seconds, so validation
        # draws a curve of ~val_points points however fast or slow the steps are.
        slice_s = cfg.time_budget / max(1, cfg.val_points) if cfg.time_budget else None

        def eta(step: int, elapsed: float) -> float | None:
            """Seconds left: the step bound at the current pace, capped by the time budget."""
            left = elapsed / step * (total - step) if step else None
            if cfg.time_budget:
                left = min(left if left is not None else math.inf, max(0.0, cfg.time_budget - elapsed))
            return left

        def save(epoch: int, in_epoch: int, losses: list) -> None:
            if self.state_file is None:
                return
            loop = {"epoch": epoch, "in_epoch": in_epoch, "losses": list(losses), "step": step,
                    "best_loss": None if math.isinf(best_loss) else best_loss, "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs, "elapsed": clock(),
                    "history": self.history, "lr": lr}
            save_state(self.state_file, net=net, opt=opt, best=self._best_state, loop=loop, rng=self.rng,
                       ident=self._ident)
        best_loss = math.inf if pos["best_loss"] is None else pos["best_loss"]
        best_epoch, bad_epochs = pos["best_epoch"], pos["bad_epochs"]
        step, stop, lr = pos["step"], "", pos.get("lr", cfg.lr)
        every = int(getattr(cfg, "checkpoint_every", 0) or 0)
        for epoch in range(pos["epoch"], cfg.epochs + 1):
            net.train()
            resumed = epoch == pos["epoch"]
            losses = list(pos["losses"]) if resumed else []
            for i in range(pos["in_epoch"] if resumed else 0, cfg.steps_per_epoch):
                elapsed = clock()
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
                if every and step % every == 0:
                    save(epoch, i + 1, losses)
                elapsed = clock()
                yield Progress("step", epoch, cfg.epochs, step, total, value, lr, elapsed,
                               metric_name=task.metric_name, best_epoch=best_epoch, eta=eta(step, elapsed))
                if self.cancel.cancelled:
                    stop = "cancelled"
                    save(epoch, i + 1, losses)  # before the partial epoch's validation: resumable as is
                    break
                if cfg.time_budget and elapsed >= cfg.time_budget:
                    stop = "time budget reached"
                    break
                if slice_s and elapsed >= epoch * slice_s:
                    break  # a time-sliced epoch: validate now
            val_loss, metric = self._validate()
            record = {"epoch": epoch, "step": step, "loss": float(np.mean(losses)) if losses else None,
                      "val_loss": val_loss, "val_metric": metric, "lr": lr,
                      "elapsed": clock()}
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
        if stop != "cancelled" and self.state_file is not None and self.state_file.exists():
            self.state_file.unlink()  # a finished run has nothing left to resume
        self._restore_best()
        kind = "cancelled" if stop == "cancelled" else "done"
        yield Progress(kind, len(self.history), cfg.epochs, step, total,
                       self.history[-1]["loss"] if self.history else float("nan"), lr,
                       clock(), best_epoch=best_epoch, message=stop or "finished")

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
                                **plan_extra(self.label_plan), **(self.volume.extra() if self.volume else {})})
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
