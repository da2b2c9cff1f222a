"""Predict widget: apply a model to an Image layer, tiled, with progress and cancel."""
from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, FloatSpinBox, LineEdit, SpinBox
from napari.layers import Image as ImageLayer
from napari.layers import Labels as LabelsLayer

from .._layers import add_result, layer_to_image, result_kwargs
from .._notify import show_info
from ._base import BioimgWidget, InputError
from ._models import ModelPickerMixin


def parse_tile(text: str, ndim: int) -> tuple | None:
    """``"auto"`` -> None (the model's default), ``"256"`` -> (256,) * ndim, ``"32,128,128"`` as is."""
    text = (text or "").strip().lower()
    if text in ("", "auto", "0"):
        return None
    try:
        sizes = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"tile size must be integers like 256 or 32,128,128, got {text!r}") from None
    sizes = sizes * ndim if len(sizes) == 1 else sizes
    if len(sizes) != ndim or min(sizes) < 1:
        raise InputError(f"tile size {text!r} needs {ndim} positive values for a {ndim}D image")
    return sizes


class PredictWidget(ModelPickerMixin, BioimgWidget):
    """Run ``bioimg.inference.predict`` (same defaults as ``bioimg predict``) on an Image layer.

    Labels (instances or classes) and Images (denoised, probabilities) are
    added with the input's scale and translate; a layer of the same name
    from an earlier run is updated instead of duplicated.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "predict"
    run_text = "Predict"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self._init_models()
        self.image = self.layer_combo(ImageLayer, "image")
        self.objects = self.layer_combo(LabelsLayer, "objects", nullable=True)
        self.objects.tooltip = "classify: the objects to classify (one id per object); leave empty otherwise"
        self.tile = LineEdit(value="auto", label="tile size")
        self.threshold = FloatSpinBox(value=0.5, min=0.0, max=1.0, step=0.05, label="threshold")
        self.min_size = SpinBox(value=10, min=0, max=10**9, label="min object size")
        self.probabilities = CheckBox(value=False, text="add class probabilities")
        self.form.extend([self.model_choice, self.image, self.objects, self.tile, self.threshold, self.min_size,
                          self.probabilities])
        self.extra.insertWidget(1, self.load_button)
        self.prediction = None

    def run(self) -> None:
        """Check the inputs and start the prediction in a worker."""
        from bioimg.inference import predict

        model = self.chosen_model()
        layer = self.require(self.image, "an image layer to predict on")
        image = layer_to_image(layer, self.viewer)
        if image.ndim_spatial != model.ndim:
            raise InputError(f"the model works on {model.ndim}D images ({model.info.axes}); image "
                             f"'{layer.name}' is {image.ndim_spatial}D ({image.spatial_axes})")
        objects = None
        if model.task == "classify" and self.objects.value is not None:
            objects = np.asarray(layer_to_image(self.objects.value, self.viewer).data)
            spatial = tuple(s for s, a in zip(image.shape, image.axes) if a in "ZYX")
            if objects.shape != spatial:
                raise InputError(f"objects shape {objects.shape} does not match the image {spatial}")
        tile = parse_tile(self.tile.value, image.ndim_spatial)
        self.start(predict, model, image, objects=objects, tile=tile, threshold=self.threshold.value,
                   min_size=self.min_size.value, progress=self.relay.report, cancel=self.is_cancelled,
                   returned=lambda pred: self.show(pred, layer, image))

    def show(self, pred, layer, image) -> None:
        """Add the prediction's layers next to ``layer``."""
        self.prediction = pred
        geometry = result_kwargs(layer, image)
        added = []
        if pred.labels is not None:
            suffix = {"instance": "instances", "segment": "classes", "classify": "object classes"}[pred.task]
            added.append(add_result(self.viewer, pred.labels, f"{layer.name} {suffix}", "labels", **geometry))
        if pred.image is not None:
            lead = pred.image.ndim - image.ndim_spatial
            added.append(add_result(self.viewer, np.asarray(pred.image, np.float32), f"{layer.name} denoised",
                                    "image", **result_kwargs(layer, image, leading=lead)))
        if self.probabilities.value and pred.probabilities is not None and pred.probabilities.ndim > 1 \
                and pred.task != "classify":
            added.append(add_result(self.viewer, np.asarray(pred.probabilities, np.float32),
                                    f"{layer.name} probabilities", "image", colormap="magma",
                                    **result_kwargs(layer, image, leading=1)))
        if pred.task == "classify" and pred.labels is None:
            cls, p = pred.summary.get("class"), pred.summary.get("probability", float("nan"))
            show_info(f"'{layer.name}' is class {cls} (probability {p:.2f})")
            self.done(f"class {cls} (probability {p:.2f})")
            return
        if added and isinstance(added[0], LabelsLayer):
            self.viewer.layers.selection.active = added[0]
        extra = f", {pred.summary['objects']} objects" if "objects" in pred.summary else ""
        self.done(f"predicted '{layer.name}' ({pred.task}{extra})")
