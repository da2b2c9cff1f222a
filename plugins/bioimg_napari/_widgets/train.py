"""Train widget: pick Image + Labels layers and a task, train for a time budget, watch the curves, save."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, LineEdit, SpinBox
from napari.layers import Image as ImageLayer
from napari.layers import Labels as LabelsLayer
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QPushButton, QToolButton

from .._layers import check_memory, layer_to_image
from .._notify import USER_ERRORS, show_error
from ._base import BioimgWidget, InputError
from ._plot import LossPlot
from ._train_form import (DEFAULT_BUDGET, LABEL_HINTS, LABEL_KIND_CHOICES, TASKS, clock, is_painted,
                          model_kwargs, parse_patch, pointless_run, progress_text, spatial_shape)

__all__ = ["TrainWidget", "parse_patch", "model_kwargs", "train_job"]
STATUS_INTERVAL = 0.25  # seconds between status-line updates for step events


def train_job(image, labels, config, cancel):
    """Generator run in the worker: build the ``Trainer``, yield its label decision and events, return the model."""
    from bioimg.training import Trainer

    trainer = Trainer([image], None if labels is None else [labels], config, cancel=cancel)
    plan = getattr(trainer, "label_plan", None)
    if plan is not None and getattr(plan, "message", ""):
        yield str(plan.message)
    for event in trainer.run():
        yield event
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
        self.form.extend([self.image, self.labels, self.label_kind, self.task, self.time_budget])
        self._build_advanced()
        self.task.changed.connect(self._task_changed)
        self.image.changed.connect(self._match_labels)
        self._task_changed()
        self.save_button = QPushButton("Save model...")
        self.save_button.setToolTip("Write the trained model to a .bioimg file (weights, normalization, classes).")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_model())
        self.plot = LossPlot(theme=str(getattr(napari_viewer, "theme", "dark")))
        self.plot.setToolTip("Loss per step and per epoch (left axis), validation metric in 0..1 (right axis).")
        self.extra.addWidget(self.save_button)
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
        self._match_labels()

    def _build_advanced(self) -> None:
        """Model size and loop bounds, folded away behind an "Advanced" toggle (collapsed)."""
        self.patch = LineEdit(value="auto", label="patch size", name="patch")
        self.patch.tooltip = "Training patch size: one number (64) or one per axis (16,64,64); auto fits the image."
        self.batch = SpinBox(value=8, min=1, max=1024, label="batch size", name="batch")
        self.batch.tooltip = "Patches per step: larger is smoother but slower and uses more memory."
        self.epochs = SpinBox(value=20, min=1, max=100_000, label="epochs (max)", name="epochs")
        self.epochs.tooltip = ("Upper bound on epochs; with a time budget an epoch also ends every budget/10, "
                               "so validation runs about 10 times.")
        self.steps = SpinBox(value=50, min=1, max=100_000, label="steps per epoch", name="steps")
        self.steps.tooltip = "Upper bound on training steps per epoch (validation follows each epoch)."
        self.lr = FloatSpinBox(value=3e-3, min=1e-6, max=1.0, step=1e-3, label="learning rate", name="lr")
        self.lr.native.setDecimals(5)
        self.lr.tooltip = "Peak learning rate of the cosine schedule (AdamW); lower it if training diverges."
        # FloatSpinBox with 0 decimals: magicgui's int SpinBox cannot show "auto" for 0
        self.depth = FloatSpinBox(value=0, min=0, max=6, step=1, label="depth", name="depth")
        self.depth.tooltip = "Network depth (down-sampling levels); auto: 3 in 2D, 2 in 3D."
        self.base_width = FloatSpinBox(value=0, min=0, max=256, step=4, label="base width", name="base_width")
        self.base_width.tooltip = "Channels of the first layer (doubled at each level); auto: 16."
        for w in (self.depth, self.base_width):
            w.native.setDecimals(0)
            w.native.setSpecialValueText("auto")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed", name="seed")
        self.seed.tooltip = "Random seed: the same seed and inputs give the same model on this machine."
        self.advanced = Container(labels=True, widgets=[self.patch, self.batch, self.epochs, self.steps,
                                                        self.lr, self.depth, self.base_width, self.seed])
        self.advanced.native.layout().setContentsMargins(12, 0, 0, 0)
        self.advanced.visible = False
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.setToolTip("Show or hide the patch size, batch, epochs, learning rate, model "
                                        "size and seed.")
        self.advanced_toggle.toggled.connect(self._fold)
        layout = self.form.native.parentWidget().layout()  # wherever the base put the form: right below it
        at = layout.indexOf(self.form.native) + 1
        layout.insertWidget(at, self.advanced_toggle)
        layout.insertWidget(at + 1, self.advanced.native)

    def _fold(self, unfolded: bool) -> None:
        self.advanced.visible = unfolded
        self.advanced_toggle.setArrowType(Qt.DownArrow if unfolded else Qt.RightArrow)

    def _task_changed(self, *_) -> None:
        task = self.task.value
        self.labels.tooltip = f"{task}: {LABEL_HINTS[task]}"
        self.labels.enabled = task != "denoise"
        self.label_kind.visible = task in ("segment", "instance")

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
        patch = parse_patch(self.patch.value, image.ndim_spatial)
        kind = self.label_kind.value if task in ("segment", "instance") else "auto"
        self.warning = pointless_run(task, kind, painted, labels, getattr(labels_layer, "name", ""),
                                     image_layer.name, spatial, patch, int(self.depth.value))
        extra = {}
        if task in ("segment", "instance"):  # bioimg.training without label kinds yet: leave them out
            fields = getattr(TrainConfig, "__dataclass_fields__", {})
            extra = {k: v for k, v in (("label_kind", kind), ("labels_painted", painted)) if k in fields}
        size = model_kwargs(task, int(self.depth.value), int(self.base_width.value))
        config = TrainConfig(task=task, model_kwargs=size,
                             patch_size=patch, batch_size=self.batch.value, epochs=self.epochs.value,
                             steps_per_epoch=self.steps.value, time_budget=self.time_budget.value or None,
                             lr=self.lr.value, seed=self.seed.value, **extra)
        width = int(self.base_width.value) or 16
        ndim = image.ndim_spatial
        default = 128 ** 2 if ndim == 2 else 32 * 64 ** 2
        voxels = float(np.prod(patch)) if patch else float(min(image.data.size, default))
        check_memory(4.0 * (4 * image.data.size + self.batch.value * voxels * width * 40), "training")
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
        self._source = self.image.value.name
        self._budget = config.time_budget
        self.start(train_job, image, labels, config, self.token, yielded=self.on_event, returned=self.on_result)

    def on_cancel(self) -> None:
        """Stop after the current step; the best model so far is kept."""
        if self.token is not None:
            self.token.cancel()

    def on_event(self, event) -> None:
        """Show the label decision (a str) or one ``Progress`` event: progress bar, status line, plot.

        Kept cheap (it runs on the Qt main thread for every step): the
        status line is refreshed a few times a second, the plot draws elsewhere.
        """
        if isinstance(event, str):
            self.label_message = event
            self.status.setText(f"{event}\nstarting...")
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
