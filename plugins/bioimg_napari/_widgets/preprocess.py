"""Preprocess widget: isotropic resampling, anisotropic diffusion and normalization of an Image layer.

The steps, their order and defaults are those of ``bioimg preprocess``:
``--isotropic``, then ``--diffusion`` (spacing relative to the finest axis,
per channel and time point), then ``--normalize`` (per channel).
"""
from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox
from napari.layers import Image as ImageLayer

from .._layers import add_result, layer_to_image, result_kwargs
from ._base import BioimgWidget, InputError

NORMALIZATIONS = ("none", "percentile", "zscore", "minmax")
_SPATIAL = "ZYX"


def preprocess_image(image, *, isotropic: bool = False, diffusion: dict | None = None,
                     normalization: dict | None = None, progress=None, cancel=None) -> tuple[np.ndarray, tuple]:
    """Run the ``bioimg.preprocess`` steps the CLI runs, in its order.

    Parameters
    ----------
    image : bioimg.io.Image
    isotropic : bool
        ``rescale_to_isotropic(order=1)`` first (cubic voxels of the finest spacing).
    diffusion : dict or None
        ``anisotropic_diffusion`` options (``niter``, ``kappa``, ``gamma``,
        ``option``) plus ``use_spacing`` (default True: spacing relative to
        the finest axis, as the CLI); None skips the step.
    normalization : dict or None
        ``method`` and the options of ``normalize`` (``pmin``, ``pmax``, ``clip``).
    progress, cancel : callable, optional
        Passed to the diffusion (``progress(i, niter)``, ``cancel() -> bool``).

    Returns
    -------
    data : numpy.ndarray
        float32, the image's axes.
    spacing : tuple of float
        The voxel spacing of ``data`` (changed by ``isotropic``).
    """
    from bioimg.preprocess import anisotropic_diffusion, normalize, rescale_to_isotropic

    order = [a for a in image.axes if a not in _SPATIAL] + [a for a in image.axes if a in _SPATIAL]
    data = np.transpose(np.asarray(image.data), [image.axes.index(a) for a in order])
    lead = len(order) - image.ndim_spatial
    spacing = tuple(image.spacing)
    if isotropic:
        data, spacing = rescale_to_isotropic(data, spacing, order=1)
    if diffusion is not None:
        opts = dict(diffusion)
        rel = tuple(s / min(spacing) for s in spacing) if opts.pop("use_spacing", True) else None
        data = anisotropic_diffusion(data, spacing=rel, axis=tuple(range(lead)) or None, progress=progress,
                                     cancel=cancel, **opts)
    if normalization is not None:
        opts = dict(normalization)
        data, _params = normalize(data, opts.pop("method"), axis=order.index("C") if "C" in order else None,
                                  **opts)
    out = np.transpose(np.asarray(data), [order.index(a) for a in image.axes])
    return np.ascontiguousarray(out, dtype=np.float32), tuple(float(s) for s in spacing)


class PreprocessWidget(BioimgWidget):
    """Resample, smooth and normalize; the result is a new Image layer over the source.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "preprocess"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.image = self.layer_combo(ImageLayer, "image")
        self.isotropic = CheckBox(value=False, text="resample to isotropic voxels first")
        self.diffusion = CheckBox(value=True, text="anisotropic diffusion")
        self.niter = SpinBox(value=10, min=0, max=10_000, label="iterations")
        self.kappa = FloatSpinBox(value=50.0, min=1e-6, max=1e9, step=1.0, label="kappa")
        self.gamma = FloatSpinBox(value=0.1, min=1e-4, max=1.0, step=0.01, label="gamma")
        self.option = ComboBox(choices=[("1: exp(-(d/kappa)^2)", 1), ("2: 1/(1+(d/kappa)^2)", 2)], value=1,
                               label="conductance")
        self.use_spacing = CheckBox(value=True, text="follow the voxel spacing (anisotropic stacks)")
        self.method = ComboBox(choices=NORMALIZATIONS, value="none", label="normalization")
        self.pmin = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="low percentile")
        self.pmax = FloatSpinBox(value=99.8, min=0.0, max=100.0, step=0.1, label="high percentile")
        self.clip = CheckBox(value=False, text="clip to [0, 1]")
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
        """Keyword arguments of :func:`preprocess_image` from the form (raises InputError)."""
        diffusion = None
        if self.diffusion.value:
            diffusion = {"niter": self.niter.value, "kappa": self.kappa.value, "gamma": self.gamma.value,
                         "option": self.option.value, "use_spacing": self.use_spacing.value}
        normalization = None
        if self.method.value != "none":
            normalization = {"method": self.method.value}
            if self.method.value == "percentile":
                if self.pmin.value >= self.pmax.value:
                    raise InputError("the low percentile must be below the high percentile")
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
            raise InputError(f"layer '{layer.name}' has data of type {image.dtype}, not numbers")
        params = self.parameters()

        def show(result: tuple) -> None:
            data, spacing = result
            kw = result_kwargs(layer, image)
            kw["scale"] = spacing  # the result covers the spatial axes (colour stays last for RGB)
            if image.axes.endswith("C"):
                kw["rgb"] = True
            add_result(self.viewer, data, f"{layer.name} preprocessed", "image", **kw)
            self.done(f"preprocessed '{layer.name}'" + (" (cancelled early)" if self.cancelled else ""))

        self.start(preprocess_image, image, progress=self.relay.report, cancel=self.is_cancelled, returned=show,
                   **params)
