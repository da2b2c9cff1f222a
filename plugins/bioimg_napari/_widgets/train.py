"""Train widget: pick Image + Labels layers, a task and a model size, watch the loss, cancel, save."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox, LineEdit, SpinBox
from napari.layers import Image as ImageLayer
from napari.layers import Labels as LabelsLayer
from qtpy.QtWidgets import QFileDialog, QPushButton

from .._layers import check_memory, layer_to_image
from .._notify import USER_ERRORS, show_error
from .._session import store_for
from ._base import BioimgWidget, InputError
from ._plot import LossPlot

TASKS = ("segment", "instance", "classify", "denoise")
LABEL_HINTS = {"segment": "class ids painted in a Labels layer (0 = unlabelled, 1..K = classes)",
               "instance": "instance masks (0 = background, one id per object)",
               "classify": "objects painted with their class id (1..K)",
               "denoise": "no labels needed (self-supervised)"}


def parse_patch(text: str, ndim: int) -> tuple | None:
    """``""``/``"auto"`` -> None, ``"64"`` -> (64,) * ndim, ``"16,64,64"`` -> (16, 64, 64)."""
    text = (text or "").strip().lower()
    if text in ("", "auto", "0"):
        return None
    try:
        sizes = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"patch size must be integers like 64 or 16,64,64, got {text!r}") from None
    if len(sizes) == 1:
        sizes = sizes * ndim
    if len(sizes) != ndim or min(sizes) < 1:
        raise InputError(f"patch size {text!r} needs {ndim} positive values for a {ndim}D image")
    return sizes


def model_kwargs(task: str, depth: int, base_width: int) -> dict:
    """Model size from the form (0 = the task's default), as ``TrainConfig.model_kwargs``."""
    if task == "classify":  # the CNN classifier is sized by its stage widths
        if not depth and not base_width:
            return {}
        return {"widths": tuple((base_width or 16) * 2 ** i for i in range(depth or 3))}
    return {k: v for k, v in (("depth", depth), ("base_width", base_width)) if v}


def train_job(image, labels, config, cancel):
    """Generator run in the worker: build the ``Trainer``, yield its events, return the model."""
    from bioimg.training import Trainer

    trainer = Trainer([image], None if labels is None else [labels], config, cancel=cancel)
    for event in trainer.run():
        yield event
    return trainer.result


class TrainWidget(BioimgWidget):
    """Train a segmentation, instance segmentation, classification or denoising model.

    Start runs ``bioimg.training.Trainer`` (the same loop as ``bioimg
    train``, same defaults) in a worker and turns into Cancel; cancelling
    keeps the best model so far. The trained model goes to the Predict and
    Explain widgets and can be saved as a ``.bioimg`` file.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "train"
    run_text = "Start training"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.image = self.layer_combo(ImageLayer, "image")
        self.labels = self.layer_combo(LabelsLayer, "labels", nullable=True)
        self.task = ComboBox(choices=TASKS, value="segment", label="task")
        self.depth = SpinBox(value=0, min=0, max=6, label="depth")
        self.base_width = SpinBox(value=0, min=0, max=256, label="base width")
        for w in (self.depth, self.base_width):
            w.native.setSpecialValueText("auto")
        self.epochs = SpinBox(value=20, min=1, max=100_000, label="epochs")
        self.steps = SpinBox(value=50, min=1, max=100_000, label="steps per epoch")
        self.time_budget = FloatSpinBox(value=0.0, min=0.0, max=1e7, step=10.0, label="time budget (s)")
        self.time_budget.native.setSpecialValueText("none")
        self.patch = LineEdit(value="auto", label="patch size")
        self.batch = SpinBox(value=8, min=1, max=1024, label="batch size")
        self.lr = FloatSpinBox(value=3e-3, min=1e-6, max=1.0, step=1e-3, label="learning rate")
        self.lr.native.setDecimals(5)
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.form.extend([self.image, self.labels, self.task, self.depth, self.base_width, self.epochs,
                          self.steps, self.time_budget, self.patch, self.batch, self.lr, self.seed])
        self.task.changed.connect(self._task_changed)
        self._task_changed()
        self.save_button = QPushButton("Save model...")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_model())
        self.plot = LossPlot()
        self.extra.addWidget(self.save_button)
        self.extra.addWidget(self.plot)
        self.model = None
        self.model_name: str | None = None
        self.events: list = []
        self.token = None

    def _task_changed(self, *_) -> None:
        self.labels.tooltip = LABEL_HINTS[self.task.value]

    # -- inputs ---------------------------------------------------------------
    def inputs(self):
        """Check the layers and return ``(image, labels or None, TrainConfig)`` (raises InputError)."""
        from bioimg.training import TrainConfig

        task = self.task.value
        image_layer = self.require(self.image, "an image layer to train on")
        image = layer_to_image(image_layer, self.viewer)
        if image.dtype.kind not in "biuf":
            raise InputError(f"layer '{image_layer.name}' does not hold numbers ({image.dtype})")
        labels = None
        if task != "denoise":
            labels_layer = self.require(self.labels, f"a Labels layer with {LABEL_HINTS[task]}")
            labels = np.asarray(layer_to_image(labels_layer, self.viewer).data)
            spatial = tuple(s for s, a in zip(image.shape, image.axes) if a in "ZYX")
            if labels.shape != spatial:
                raise InputError(f"labels '{labels_layer.name}' have shape {labels.shape} but image "
                                 f"'{image_layer.name}' has spatial shape {spatial}: they must match")
            if not labels.any():
                raise InputError(f"labels '{labels_layer.name}' are empty: paint {LABEL_HINTS[task]}")
        ndim = image.ndim_spatial
        patch = parse_patch(self.patch.value, ndim)
        config = TrainConfig(task=task, model_kwargs=model_kwargs(task, self.depth.value, self.base_width.value),
                             patch_size=patch, batch_size=self.batch.value, epochs=self.epochs.value,
                             steps_per_epoch=self.steps.value, time_budget=self.time_budget.value or None,
                             lr=self.lr.value, seed=self.seed.value)
        width = self.base_width.value or 16
        voxels = float(np.prod(patch)) if patch else float(min(image.data.size, 128 ** 2 if ndim == 2 else 32 * 64 ** 2))
        check_memory(4.0 * (4 * image.data.size + self.batch.value * voxels * width * 40), "training")
        return image, labels, config

    # -- running --------------------------------------------------------------
    def run(self) -> None:
        """Check the inputs and start training in a worker."""
        from bioimg.training import CancelToken

        image, labels, config = self.inputs()
        self.token = CancelToken()
        self.events = []
        self.plot.clear()
        self.save_button.setEnabled(False)
        self._source = self.image.value.name
        self.start(train_job, image, labels, config, self.token, yielded=self.on_event, returned=self.on_result)

    def on_cancel(self) -> None:
        """Stop after the current step; the best model so far is kept."""
        if self.token is not None:
            self.token.cancel()

    def on_event(self, event) -> None:
        """Show one ``Progress`` event (progress bar, status line, plot)."""
        self.events.append(event)
        self.plot.add(event)
        if event.kind == "step":
            budget = self.time_budget.value
            frac = event.step / max(1, event.total_steps)
            if budget:
                frac = max(frac, event.elapsed / budget)
            self.set_progress(int(1000 * min(frac, 1.0)), 1000)
            self.status.setText(f"epoch {event.epoch}/{event.epochs}  step {event.step}/{event.total_steps}  "
                                f"loss {event.loss:.4g}  ({event.elapsed:.0f} s)")
        elif event.kind == "epoch" and event.val_metric is not None:
            self.status.setText(f"epoch {event.epoch}: val loss {event.val_loss:.4g}, "
                                f"{event.metric_name} {event.val_metric:.3f} (best epoch {event.best_epoch})")

    def on_result(self, model) -> None:
        """Keep the trained (best) model and offer it to the Predict/Explain widgets."""
        self.model = model
        self.model_name = store_for(self.viewer).add(f"{model.info.task} model ({self._source})", model)
        self.save_button.setEnabled(True)
        last = self.events[-1] if self.events else None
        how = "cancelled" if last is not None and last.kind == "cancelled" else (last.message if last else "done")
        best = f", best epoch {last.best_epoch}" if last is not None and last.best_epoch else ""
        self.done(f"training {how}: {len(model.info.history)} epoch(s){best}; model '{self.model_name}' "
                  "is ready in Predict/Explain")

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
