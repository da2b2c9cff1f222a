"""Train widget: pick Image + Labels layers and a task, train for a time budget, watch the curves, save."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox
from napari.layers import Image as ImageLayer
from napari.layers import Labels as LabelsLayer
from qtpy.QtWidgets import QFileDialog, QPushButton

from .._layers import check_memory, layer_to_image
from .._notify import USER_ERRORS, show_error
from ._base import BioimgWidget, InputError
from ._plot import LossPlot
from ._preview import LiveTraining, PreviewResult
from ._train_advanced import build_advanced
from ._train_form import (CONTINUE_BUDGET, DEFAULT_BUDGET, LABEL_HINTS, LABEL_KIND_CHOICES, TASKS, clock,
                          correction_rule, is_painted, model_kwargs, parse_patch, pointless_run, progress_text,
                          spatial_shape)

__all__ = ["TrainWidget", "parse_patch", "model_kwargs", "train_job"]
STATUS_INTERVAL = 0.25  # seconds between status-line updates for step events


def train_job(image, labels, config, cancel, init=None, corrections=None, live=None):
    """Generator run in the worker: build the ``Trainer``, yield its messages and events, return the model.

    ``init``: a model to continue from; ``corrections``: the corrected pixels of
    ``labels``; ``live``: a :class:`LiveTraining` that gets the trainer after
    every step (new labels in, a preview out, yielded as a ``PreviewResult``).
    """
    from bioimg.training import Trainer

    trainer = Trainer([image], None if labels is None else [labels], config, cancel=cancel, init=init,
                      corrections=None if corrections is None else [corrections])
    if getattr(trainer, "init_message", ""):
        yield str(trainer.init_message)
    plan = getattr(trainer, "label_plan", None)
    if plan is not None and getattr(plan, "message", ""):
        yield str(plan.message)
    for event in trainer.run():
        yield event
        if live is not None and event.kind == "step":
            result = live.between_steps(trainer, event.step)
            if result is not None:
                yield result
    return trainer.result


class TrainWidget(BioimgWidget):
    """Train a segmentation, instance segmentation, classification or denoising model.

    Start runs ``bioimg.training.Trainer`` (the same loop as ``bioimg
    train``) in a worker for a time budget (2 min by default) and turns into
    Cancel; cancelling keeps the best model so far. The trained model goes
    to the Predict and Explain widgets and can be saved as a ``.bioimg`` file.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "train"
    run_text = "Start training"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.image = self.layer_combo(ImageLayer, "image")
        self.image.tooltip = ("The image to train on (2D or 3D, channels allowed); with a time axis, the "
                              "time point shown.")
        self.labels = self.layer_combo(LabelsLayer, "labels", nullable=True)
        self.label_kind = ComboBox(choices=LABEL_KIND_CHOICES, value="auto", label="labels are", name="label_kind")
        self.label_kind.tooltip = ("What the label values mean. auto: a layer painted in napari is sparse painting "
                                   "(0 = unlabelled); a mask from a file is detected. The decision is shown "
                                   "when training starts.")
        self.task = ComboBox(choices=TASKS, value="segment", label="task", name="task")
        self.task.tooltip = ("segment: a class per pixel; instance: separate objects (background, interior, "
                             "boundary); classify: a class per painted object; denoise: self-supervised.")
        self.time_budget = FloatSpinBox(value=DEFAULT_BUDGET, min=0.0, max=1e7, step=30.0, label="time budget",
                                        name="time_budget")
        self.time_budget.native.setSpecialValueText("off")
        self.time_budget.native.setSuffix(" s")
        self.time_budget.native.setDecimals(0)
        self.time_budget.tooltip = ("Training time in seconds; the best model so far is kept when it runs out. "
                                    "off: run all epochs (Advanced).")
        self.start_from = ComboBox(choices=self._start_choices, value=None, label="start from",
                                   name="start_from", nullable=False)
        self.start_from.tooltip = ("new model: train from scratch. A model: continue from the current model "
                                   "(its weights and normalization; new classes get a new head), e.g. "
                                   "after correcting its predicted Labels layer. Each round then takes "
                                   f"{CONTINUE_BUDGET:.0f} s by default.")
        self.live_preview = CheckBox(value=True, text="live preview", name="live_preview")
        self.live_preview.tooltip = ("While training, show the model's prediction on the visible part of the "
                                     "image (the current slice in 3D) every few seconds; labels painted "
                                     "meanwhile join the running training.")
        self.form.extend([self.image, self.labels, self.label_kind, self.start_from, self.task,
                          self.time_budget, self.live_preview])
        self._build_advanced()
        self.task.changed.connect(self._task_changed)
        self.start_from.changed.connect(self._start_from_changed)
        self.session.models.changed.connect(self._models_changed)
        self.image.changed.connect(self._match_labels)
        self._task_changed()
        self.save_button = QPushButton("Save model...")
        self.save_button.setToolTip("Write the trained model to a .bioimg file (weights, normalization, classes).")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_model())
        self.export_button = QPushButton("Export...")  # bioimage.io package / ONNX (see _export.py)
        self.export_button.setToolTip("Write the trained model as a bioimage.io package (.zip, ONNX "
                                      "weights) that other tools run, or as an .onnx file.")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_model())
        self.plot = LossPlot(theme=str(getattr(napari_viewer, "theme", "dark")))
        self.plot.setToolTip("Loss per step and per epoch (left axis), validation metric in 0..1 (right axis).")
        self.extra.addWidget(self.save_button)
        self.extra.addWidget(self.export_button)
        self.extra.addWidget(self.plot)
        theme = getattr(getattr(napari_viewer, "events", None), "theme", None)
        if theme is not None:
            theme.connect(self._theme_changed)
        self.model = None
        self.model_name: str | None = None
        self.events: list = []
        self.label_message = ""
        self.warning: str | None = None
        self.token = None
        self._last_epoch = None
        self._last_status = 0.0
        self.live: LiveTraining | None = None
        self._match_labels()

    def _build_advanced(self) -> None:
        """Model size and loop bounds, folded away behind an "Advanced" toggle (collapsed)."""
        build_advanced(self)

    def _task_changed(self, *_) -> None:
        task = self.task.value
        self.labels.tooltip = f"{task}: {LABEL_HINTS[task]}"
        self.labels.enabled = task != "denoise"
        self.label_kind.visible = task in ("segment", "instance")

    def _start_choices(self, _widget=None) -> list:
        return [("new model", None)] + [(name, name) for name in self.session.models.names()]

    def _models_changed(self) -> None:
        """Refresh "start from"; while continuing, the newest model (the last round's) is the current one."""
        try:
            keep = self.start_from.value
            self.start_from.reset_choices()
            names = self.session.models.names()
            self.start_from.value = names[0] if keep is not None and names else None
        except RuntimeError:  # the widget was deleted with its viewer
            self.session.models.changed.disconnect(self._models_changed)

    def _start_from_changed(self, *_) -> None:
        """Continuing: the model decides the task; a round is short by default."""
        model = self.session.models.get(self.start_from.value)
        if model is not None:
            if model.info.task in TASKS and self.task.value != model.info.task:
                self.task.value = model.info.task
            if self.time_budget.value == DEFAULT_BUDGET:
                self.time_budget.value = CONTINUE_BUDGET
        elif self.time_budget.value == CONTINUE_BUDGET:
            self.time_budget.value = DEFAULT_BUDGET

    def _theme_changed(self, event=None) -> None:
        try:
            self.plot.set_theme(str(getattr(event, "value", None) or self.viewer.theme))
        except RuntimeError:  # the widget was deleted with its dock
            pass

    def reset_choices(self, *_) -> None:
        """Refresh the layer drop-downs and keep a Labels layer that fits the image selected."""
        super().reset_choices()
        self._match_labels()

    def _match_labels(self, *_) -> None:
        """Select a Labels layer with the image's spatial shape (keep the current one if it fits)."""
        image = self.image.value
        if image is None:
            return
        shape = spatial_shape(image)
        fits = [c for c in self.labels.choices if c is not None and spatial_shape(c) == shape]
        if self.labels.value in fits:
            return
        active = self.viewer.layers.selection.active
        named = [c for c in fits if c.name.startswith(image.name)]
        best = active if active in fits else (named or fits[::-1] or [None])[0]
        if best is not None or self.labels.value is not None:
            self.labels.value = best

    # -- inputs ---------------------------------------------------------------
    def inputs(self):
        """Check the layers and return ``(image, labels or None, TrainConfig)`` (raises InputError)."""
        from bioimg.training import TrainConfig

        task = self.task.value
        image_layer = self.require(self.image, "an image layer to train on")
        image = layer_to_image(image_layer, self.viewer)
        if image.dtype.kind not in "biuf":
            raise InputError(f"layer '{image_layer.name}' holds {image.dtype} values, not numbers")
        spatial = tuple(s for s, a in zip(image.shape, image.axes) if a in "ZYX")
        labels, labels_layer, painted = None, None, False
        if task != "denoise":
            labels_layer = self.require(self.labels, f"a Labels layer ({LABEL_HINTS[task]})",
                                        hint="add one with the 'New labels layer' button and paint")
            labels = np.asarray(layer_to_image(labels_layer, self.viewer).data)
            if labels.shape != spatial:
                raise InputError(f"labels '{labels_layer.name}' have shape {labels.shape}, image "
                                 f"'{image_layer.name}' has {spatial}: choose labels drawn on this image")
            painted = is_painted(labels_layer)
        self._labels_layer, self._correct = labels_layer, None
        init = self.session.models.get(self.start_from.value)
        if init is not None and init.info.task != task and {init.info.task, task} != {"segment", "instance"}:
            raise InputError(f"model '{self.start_from.value}' is a {init.info.task} model: it cannot continue "
                             f"as {task} (choose 'new model' or task {init.info.task})")
        self._init = init
        if labels_layer is not None and task in ("segment", "instance"):
            predicted = labels_layer.name in self.session.predicted or bool(
                ((labels_layer.metadata or {}).get("bioimg") or {}).get("predicted"))
            if predicted:  # dense labels made by Predict, maybe corrected since: 0 is background
                painted = False
                original = self.session.original(labels_layer.name, labels.shape)
                self._correct = correction_rule(original, task)
        patch = parse_patch(self.patch.value, image.ndim_spatial)
        kind = self.label_kind.value if task in ("segment", "instance") else "auto"
        self.warning = pointless_run(task, kind, painted, labels, getattr(labels_layer, "name", ""),
                                     image_layer.name, spatial, patch, int(self.depth.value))
        extra = {}
        if task in ("segment", "instance"):  # bioimg.training without label kinds yet: leave them out
            fields = getattr(TrainConfig, "__dataclass_fields__", {})
            extra = {k: v for k, v in (("label_kind", kind), ("labels_painted", painted)) if k in fields}
        # continuing: the model's size (depth / base width of the form do not apply)
        size = {} if init is not None else model_kwargs(task, int(self.depth.value), int(self.base_width.value))
        config = TrainConfig(task=task, model_kwargs=size,
                             patch_size=patch, batch_size=int(self.batch.value) or None, epochs=self.epochs.value,
                             steps_per_epoch=self.steps.value, time_budget=self.time_budget.value or None,
                             lr=self.lr.value, seed=self.seed.value, **extra)
        width = int(self.base_width.value) or 16
        ndim = image.ndim_spatial
        default = 128 ** 2 if ndim == 2 else 32 * 64 ** 2
        voxels = float(np.prod(patch)) if patch else float(min(image.data.size, default))
        batch = int(self.batch.value) or (8 if ndim == 2 else 2)  # auto, as TrainConfig decides
        check_memory(4.0 * (4 * image.data.size + batch * voxels * width * 40), "training")
        return image, labels, config

    # -- running --------------------------------------------------------------
    def run(self) -> None:
        """Check the inputs and start training in a worker (or warn when the run would be pointless)."""
        from bioimg.training import CancelToken

        image, labels, config = self.inputs()
        if self.warning:
            self.warn(self.warning)
            return
        self.token = CancelToken()
        self.events, self.label_message, self._last_epoch = [], "", None
        self.plot.clear()
        self.save_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self._source = self.image.value.name
        self._budget = config.time_budget
        corrections = self._correct(labels) if self._correct is not None and labels is not None else None
        if corrections is not None and corrections.any():
            self.label_message = (f"{int(corrections.sum())} corrected pixels weigh "
                                  f"{config.correction_weight:g}x in the loss")
        self.live = None
        if config.task in ("segment", "instance"):
            spatial = labels.shape if labels is not None else None
            self.live = LiveTraining(self, self.image.value, self._labels_layer, spatial, corrections=self._correct,
                                     preview=bool(self.live_preview.value))
            self.live.start()
        self.start(train_job, image, labels, config, self.token, self._init, corrections, self.live,
                   yielded=self.on_event, returned=self.on_result)

    def _finished(self) -> None:
        if self.live is not None:
            self.live.stop()
        super()._finished()

    def on_cancel(self) -> None:
        """Stop after the current step; the best model so far is kept."""
        if self.token is not None:
            self.token.cancel()

    def on_event(self, event) -> None:
        """Show the label decision (a str) or one ``Progress`` event: progress bar, status line, plot.

        Kept cheap (it runs on the Qt main thread for every step): the
        status line is refreshed a few times a second, the plot draws elsewhere.
        """
        if isinstance(event, PreviewResult):
            if self.live is not None:
                self.live.show(event)
            return
        if isinstance(event, str):
            self.label_message = f"{self.label_message}\n{event}" if self.label_message else event
            self.status.setText(f"{self.label_message}\nstarting...")
            return
        self.events.append(event)
        self.plot.add(event)
        if event.kind == "epoch":
            self._last_epoch = event
        now = time.monotonic()
        if event.kind == "step" and now - self._last_status < STATUS_INTERVAL:
            return
        self._last_status = now
        eta = getattr(event, "eta", None)
        if eta is not None:
            frac = event.elapsed / max(event.elapsed + eta, 1e-9)
        else:
            frac = event.step / max(1, event.total_steps)
            if self._budget:
                frac = max(frac, event.elapsed / self._budget)
        self.set_progress(int(1000 * min(frac, 1.0)), 1000)
        if self.cancelled:
            return  # keep "cancelling..." on screen
        line = progress_text(event, self._budget, self._last_epoch)
        self.status.setText(f"{self.label_message}\n{line}" if self.label_message else line)

    def on_result(self, model) -> None:
        """Keep the trained (best) model and offer it to the Predict/Explain widgets."""
        self.model = model
        self.model_name = self.session.models.add(f"{model.info.task} model ({self._source})", model)
        self.save_button.setEnabled(True)
        self.export_button.setEnabled(True)
        last = self.events[-1] if self.events else None
        if last is None:
            self.done(f"training done. Model '{self.model_name}' is ready in Predict and Explain.")
            return
        why = "" if last.message in ("", "finished", "cancelled") else f": {last.message}"
        head = f"training {'cancelled' if last.kind == 'cancelled' else 'done'}{why} after {clock(last.elapsed)}"
        history = model.info.history
        n = len(history)
        summary = f"{n} validation{'s' if n != 1 else ''}"
        if last.best_epoch and last.best_epoch <= n:
            metric = history[last.best_epoch - 1].get("val_metric")
            name = self._last_epoch.metric_name if self._last_epoch is not None else ""
            summary += (f", best val {name or 'metric'} {metric:.2f}" if metric is not None
                        else f", best after epoch {last.best_epoch}")
        self.done(f"{head} ({summary}). Model '{self.model_name}' is ready in Predict and Explain.")

    def export_model(self, path: str | Path | None = None):
        """Export the trained model as a bioimage.io package or ONNX file (in a worker)."""
        from ._export import export_model
        return export_model(self, path)

    def save_model(self, path: str | Path | None = None) -> Path | None:
        """Write the trained model to ``path`` (asked with a file dialog when None); returns the path."""
        if self.model is None:
            show_error("train a model first", "save model")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save model", f"{self.model.info.task}.bioimg",
                                                  "bioimg model (*.bioimg)")
            if not path:
                return None
        path = Path(path)
        if path.suffix != ".bioimg":
            path = path.with_name(path.name + ".bioimg")
        try:
            written = Path(self.model.save(path))
        except USER_ERRORS as exc:
            show_error(exc, "save model")
            return None
        self.done(f"model saved to {written}")
        return written
