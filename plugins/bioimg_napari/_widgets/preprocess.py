"""Preprocess widget: isotropic resampling, anisotropic diffusion and normalization of an Image layer.

The steps, their order and defaults are those of ``bioimg preprocess``:
``--isotropic``, then ``--diffusion`` (spacing relative to the finest axis,
per channel and time point), then ``--normalize`` (per channel).
"""
from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox
from napari.layers import Image as ImageLayer

from bioimg.preprocess import preprocess_image

from .._layers import add_result, layer_to_image, result_kwargs
from ._base import BioimgWidget, InputError

NORMALIZATIONS = ("none", "percentile", "zscore", "minmax")


class PreprocessWidget(BioimgWidget):
    """Resample, smooth and normalize; the result is a new Image layer over the source.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "preprocess"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.image = self.layer_combo(ImageLayer, "image", tooltip="The image to process (2D, 3D, RGB; the "
                                      "current time point of a movie)")
        self.isotropic = CheckBox(value=False, text="resample to isotropic voxels first",
                                  tooltip="Resample a stack with thicker slices to the finest voxel size "
                                          "(the voxel size comes from the file or the layer scale)")
        self.diffusion = CheckBox(value=True, text="anisotropic diffusion",
                                  tooltip="Perona-Malik diffusion: smooths noise, keeps edges")
        self.niter = SpinBox(value=10, min=1, max=10_000, label="iterations",
                             tooltip="Diffusion steps: more steps smooth more (and take longer)")
        self.kappa = FloatSpinBox(value=50.0, min=1e-6, max=1e9, step=1.0, label="kappa",
                                  tooltip="Edge threshold, in intensity units: differences well above kappa "
                                          "are kept as edges, smaller ones are smoothed")
        self.gamma = FloatSpinBox(value=0.1, min=1e-4, max=1.0, step=0.01, label="gamma",
                                  tooltip="Step size per iteration; above the stability limit (1/4 in "
                                          "2D, 1/6 in 3D) it is lowered to the limit, with a warning")
        self.option = ComboBox(choices=[("1: exp(-(d/kappa)^2)", 1), ("2: 1/(1+(d/kappa)^2)", 2)], value=1,
                               label="conductance",
                               tooltip="1 favours high-contrast edges, 2 favours wide regions over small ones")
        self.use_spacing = CheckBox(value=True, text="follow the voxel spacing (anisotropic stacks)",
                                    tooltip="Weigh each axis by its voxel size, so thick slices are "
                                            "smoothed less across")
        self.method = ComboBox(choices=NORMALIZATIONS, value="none", label="normalization",
                               tooltip="percentile: low/high percentile to 0/1; zscore: mean 0, std 1; "
                                       "minmax: min/max to 0/1 (per channel)")
        self.pmin = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="low percentile",
                                 tooltip="This percentile of the intensities becomes 0")
        self.pmax = FloatSpinBox(value=99.8, min=0.0, max=100.0, step=0.1, label="high percentile",
                                 tooltip="This percentile of the intensities becomes 1")
        self.clip = CheckBox(value=False, text="clip to [0, 1]",
                             tooltip="Cut values outside [0, 1] after normalizing")
        self.form.extend([self.image, self.isotropic, self.diffusion, self.niter, self.kappa, self.gamma,
                          self.option, self.use_spacing, self.method, self.pmin, self.pmax, self.clip])
        self.method.changed.connect(self._update_enabled)
        self.diffusion.changed.connect(self._update_enabled)
        self._update_enabled()

    def _update_enabled(self, *_) -> None:
        for w in (self.niter, self.kappa, self.gamma, self.option, self.use_spacing):
            w.enabled = self.diffusion.value
        for w in (self.pmin, self.pmax):
            w.enabled = self.method.value == "percentile"
        self.clip.enabled = self.method.value in ("percentile", "minmax")

    def parameters(self) -> dict:
        """Keyword arguments of :func:`bioimg.preprocess.preprocess_image` from the form (raises InputError)."""
        diffusion = None
        if self.diffusion.value:
            diffusion = {"niter": self.niter.value, "kappa": self.kappa.value, "gamma": self.gamma.value,
                         "option": self.option.value, "use_spacing": self.use_spacing.value}
        normalization = None
        if self.method.value != "none":
            normalization = {"method": self.method.value}
            if self.method.value == "percentile":
                if self.pmin.value >= self.pmax.value:
                    raise InputError(f"the low percentile ({self.pmin.value:g}) must be below the high "
                                     f"percentile ({self.pmax.value:g})")
                normalization.update(pmin=self.pmin.value, pmax=self.pmax.value)
            if self.method.value in ("percentile", "minmax"):
                normalization["clip"] = self.clip.value
        if diffusion is None and normalization is None and not self.isotropic.value:
            raise InputError("nothing to do: enable resampling or diffusion, or choose a normalization")
        return {"isotropic": self.isotropic.value, "diffusion": diffusion, "normalization": normalization}

    def run(self) -> None:
        """Check the form and start the preprocessing in a worker."""
        layer = self.require(self.image, "an image layer")
        image = layer_to_image(layer, self.viewer)
        if image.dtype.kind not in "biuf":
            raise InputError(f"layer '{layer.name}' holds {image.dtype} data, not numbers")
        params = self.parameters()

        def show(result: tuple) -> None:
            processed, _params = result
            data = np.asarray(processed.data, dtype=np.float32)
            spacing = processed.spacing
            kw = result_kwargs(layer, image)
            kw["scale"] = spacing  # the result covers the spatial axes (colour stays last for RGB)
            if image.axes.endswith("C"):
                kw["rgb"] = True
            add_result(self.viewer, data, f"{layer.name} preprocessed", "image", **kw)
            self.done(f"preprocessed '{layer.name}'" + (" (cancelled early)" if self.cancelled else ""))

        self.start(preprocess_image, image, progress=self.relay.report, cancel=self.is_cancelled, returned=show,
                   **params)
