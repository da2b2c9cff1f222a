"""Explain widget: input-gradient saliency of a model on the current image, as an Image layer."""
from __future__ import annotations

import numpy as np
from magicgui.widgets import SpinBox
from napari.layers import Image as ImageLayer

from .._layers import add_result, check_memory, layer_to_image, result_kwargs
from ._base import BioimgWidget, InputError
from ._models import ModelPickerMixin


class ExplainWidget(ModelPickerMixin, BioimgWidget):
    """Show which pixels drive the model's prediction (``bioimg.explain.saliency``).

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "explain"
    run_text = "Explain"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self._init_models()
        self.image = self.layer_combo(ImageLayer, "image", tooltip="The image whose pixels are explained")
        self.target = SpinBox(value=0, min=0, max=1000, label="target class",
                              tooltip="Class whose score is explained (1..K, the model's class order); "
                                      "'predicted' = each pixel's predicted class")
        self.target.native.setSpecialValueText("predicted")
        self.smooth = SpinBox(value=0, min=0, max=100, label="SmoothGrad samples",
                              tooltip="Average the saliency over this many noisy copies of the image "
                                      "(smoother map, that many times slower); 'off' = one pass")
        self.smooth.native.setSpecialValueText("off")
        self.form.extend([self.model_choice, self.image, self.target, self.smooth])
        self.extra.insertWidget(1, self.load_button)
        self.progress.hide()  # saliency is one backward pass: no steps to count

    def run(self) -> None:
        """Check the inputs and compute the saliency map in a worker."""
        from bioimg.explain import saliency

        model = self.chosen_model()
        layer = self.require(self.image, "an image layer to explain")
        image = layer_to_image(layer, self.viewer)
        if image.ndim_spatial != model.ndim:
            raise InputError(f"the model works on {model.ndim}D images but '{layer.name}' is "
                             f"{image.ndim_spatial}D ({image.spatial_axes})")
        names = model.info.class_names
        if self.target.value and names and self.target.value > len(names):
            raise InputError(f"target class must be 'predicted' or 1..{len(names)} "
                             f"({', '.join(map(str, names))}), not {self.target.value}")
        width = int(model.info.config.get("base_width", 16))
        check_memory(4.0 * image.data.size * width * 30, "saliency")
        self.start(saliency, model, image, target=self.target.value or None, smooth=self.smooth.value,
                   returned=lambda sal: self.show(sal, layer, image))

    def show(self, sal: np.ndarray, layer, image) -> None:
        """Add the saliency map over ``layer`` (same scale, additive inferno)."""
        add_result(self.viewer, sal, f"{layer.name} saliency", "image", colormap="inferno", blending="additive",
                   **result_kwargs(layer, image))
        self.done(f"saliency of '{layer.name}' (max {float(np.max(sal)):.3g})")
