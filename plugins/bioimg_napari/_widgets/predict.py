"""Predict widget: apply a model to an Image layer, tiled, with progress and cancel per tile.

Instance labels of images larger than one instance block are then stitched
block by block: the progress bar switches to that stage ("stitching 5/30")
and Cancel stops it too.

Layers backed by dask or zarr (an opened ``.ome.zarr``, multiscale or not)
are predicted without loading them: the engine reads one row of tiles at a
time. Above ``large_mpx`` million pixels the results go to a temporary
zarr store (removed when napari exits) and are shown lazily as dask arrays.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile

import numpy as np
from magicgui.widgets import CheckBox, FloatSpinBox, LineEdit, SpinBox
from napari.layers import Image as ImageLayer
from napari.layers import Labels as LabelsLayer

from .._layers import add_result, image_from_state, layer_to_image, result_kwargs
from .._notify import show_info
from ._base import BioimgWidget, InputError, parse_sizes
from ._models import ModelPickerMixin

SUFFIX = {"instance": "instances", "segment": "classes", "classify": "object classes"}
INSTANCE_CHANNELS = ("background", "interior", "boundary")  # what an instance model's channels mean
COLORMAPS = ("gray", "green", "magenta", "cyan", "yellow", "red", "blue")


def parse_tile(text: str, ndim: int) -> tuple | None:
    """``"auto"`` -> None (the model's default), ``"256"`` -> (256,) * ndim, ``"32,128,128"`` as is."""
    return parse_sizes(text, ndim, "tile size", "256 or 32,128,128")


def channel_names(pred) -> list[str]:
    """A name for each probability channel of a dense prediction (the model's class names)."""
    k = pred.probabilities.shape[0]
    if pred.task == "instance" and k == len(INSTANCE_CHANNELS):
        return list(INSTANCE_CHANNELS)
    names = [str(n) for n in pred.class_names]
    return names if len(names) == k else [f"class {i + 1}" for i in range(k)]


def is_lazy_layer(layer) -> bool:
    """Whether a layer's pixels live outside memory (dask, zarr; multiscale pyramids)."""
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return not isinstance(data, np.ndarray)


def lazy_layer_image(layer, viewer):
    """An Image of a dask/zarr layer (level 0 of a pyramid) whose data stay lazy.

    ``bioimg.io.Image`` would load non-numpy data: it is built on a zero-stride stand-in and
    given the lazy array afterwards (as ``bioimg.io`` does for OME-Zarr). A time axis is
    reduced to the time point shown in the viewer.
    """
    from bioimg.io import Image

    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    stand = np.broadcast_to(np.zeros((), data.dtype), data.shape)
    state = {"scale": layer.scale, "metadata": layer.metadata, "rgb": getattr(layer, "rgb", False),
             "name": layer.name, "units": getattr(layer, "units", None)}
    image = image_from_state(stand, state)
    if "T" in image.axes:
        t = image.axes.index("T")
        point = layer.world_to_data(viewer.dims.point)
        index = int(np.clip(round(float(point[t])), 0, data.shape[t] - 1))
        data = data[(slice(None),) * t + (index,)]
        image = Image(np.broadcast_to(np.zeros((), data.dtype), data.shape), image.axes.replace("T", ""),
                      image.spacing, image.unit, name=image.name, metadata=image.metadata)
    image.data = data
    return image


def _scratch_dir() -> str:
    """A temporary folder for large results, removed when the process exits."""
    path = tempfile.mkdtemp(prefix="bioimg-predict-")
    atexit.register(shutil.rmtree, path, True)
    return path


def zarr_allocator(folder: str):
    """``allocate`` for :func:`bioimg.inference.predict` that puts every output in ``folder`` as zarr."""
    import os

    import zarr

    def allocate(name, shape, dtype):
        chunks = tuple(min(n, 256) for n in shape[-2:])
        chunks = (1,) * (len(shape) - 2) + chunks
        return zarr.open_array(os.path.join(folder, name), mode="w", shape=shape, dtype=dtype,
                               chunks=chunks, fill_value=0)
    return allocate


def _shown(data):
    """What a layer gets: numpy as is, a zarr result as a lazy dask array."""
    if isinstance(data, np.ndarray) or data is None:
        return data
    import dask.array as da

    return da.from_zarr(data)


def is_prediction(layer, session=None) -> bool:
    """Whether ``layer`` is a Labels result of the Predict widget (recorded, or named like one)."""
    if session is not None and layer.name in session.predicted:
        return True
    if (layer.metadata or {}).get("bioimg", {}).get("predicted"):
        return True
    return any(layer.name.endswith(f" {s}") for s in SUFFIX.values())


class PredictWidget(ModelPickerMixin, BioimgWidget):
    """Run ``bioimg.inference.predict`` (same defaults as ``bioimg predict``) on an Image layer.

    Labels (instances or classes) and Images (denoised, one probability map
    per class) are added with the input's scale and translate; a layer of
    the same name from an earlier run is updated instead of duplicated.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "predict"
    run_text = "Predict"
    large_mpx = 16.0  # lazy layers above this many million pixels: results in a temporary zarr store

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self._init_models()
        self.image = self.layer_combo(ImageLayer, "image", tooltip="The image to predict on (2D or 3D, "
                                      "the current time point of a movie)")
        self.objects = self.layer_combo(
            LabelsLayer, "objects", nullable=True,
            tooltip="Classify models only: the objects to classify, one id per object. Leave empty "
                    "to classify the whole image")
        self.tile = LineEdit(value="auto", label="tile size",
                             tooltip="Pixels per tile, e.g. 256 or 32,128,128; 'auto' = twice the "
                                     "training patch. Smaller tiles use less memory")
        self.threshold = FloatSpinBox(value=0.5, min=0.01, max=0.99, step=0.05, label="threshold",
                                      tooltip="Instance models: foreground probability above which a "
                                              "pixel belongs to an object")
        self.min_size = SpinBox(value=10, min=0, max=10**9, label="min object size",
                                tooltip="Instance models: objects with fewer pixels are removed ('off' "
                                        "keeps all)")
        self.min_size.native.setSpecialValueText("off")
        self.probabilities = CheckBox(value=False, text="add class probabilities",
                                      tooltip="Also add one image layer per class with its probability "
                                              "(0..1), below the labels")
        self.form.extend([self.model_choice, self.image, self.objects, self.tile, self.threshold, self.min_size,
                          self.probabilities])
        self.extra.insertWidget(1, self.load_button)
        self.model_choice.changed.connect(self._update_enabled)
        self.store.changed.connect(self._update_enabled)
        self._update_enabled()
        self.prediction = None

    def _update_enabled(self, *_) -> None:
        """Enable only the fields the chosen model uses (every field while no model is chosen)."""
        try:
            model = self.store.get(self.model_choice.value)
            task = model.info.task if model is not None else None
            self.threshold.enabled = self.min_size.enabled = task in (None, "instance")
            self.objects.enabled = task in (None, "classify")
            self.probabilities.enabled = task in (None, "instance", "segment")
            self.tile.enabled = task != "classify"
        except RuntimeError:  # the widget was deleted with its viewer: stop listening
            self.store.changed.disconnect(self._update_enabled)

    def run(self) -> None:
        """Check the inputs and start the prediction in a worker."""
        from bioimg.inference import predict

        model = self.chosen_model()
        layer = self.require(self.image, "an image layer to predict on")
        lazy = is_lazy_layer(layer) and model.task != "classify"
        image = lazy_layer_image(layer, self.viewer) if lazy else layer_to_image(layer, self.viewer)
        if image.ndim_spatial != model.ndim:
            raise InputError(f"the model works on {model.ndim}D images ({model.info.axes}) but "
                             f"'{layer.name}' is {image.ndim_spatial}D ({image.spatial_axes})")
        objects = None
        if model.task == "classify" and self.objects.value is not None:
            objects = np.asarray(layer_to_image(self.objects.value, self.viewer).data)
            spatial = tuple(s for s, a in zip(image.shape, image.axes) if a in "ZYX")
            if objects.shape != spatial:
                raise InputError(f"objects '{self.objects.value.name}' have shape {objects.shape} but "
                                 f"image '{layer.name}' has {spatial}: they must match")
        tile = parse_tile(self.tile.value, image.ndim_spatial)
        extra = {}
        if lazy and int(np.prod(image.shape)) > self.large_mpx * 1e6:
            extra["allocate"] = zarr_allocator(_scratch_dir())
            extra["probabilities"] = bool(self.probabilities.value) or model.task == "instance"
        self.start(predict, model, image, objects=objects, tile=tile, threshold=self.threshold.value,
                   min_size=self.min_size.value, progress=self.relay.report, cancel=self.is_cancelled,
                   returned=lambda pred: self.show(pred, layer, image), **extra)

    def show(self, pred, layer, image) -> None:
        """Add the prediction's layers next to ``layer`` (labels on top of the class probabilities)."""
        self.prediction = pred
        geometry = result_kwargs(layer, image)
        if pred.task == "classify" and pred.labels is None:
            cls, p = pred.summary.get("class"), pred.summary.get("probability", float("nan"))
            show_info(f"'{layer.name}' is class {cls} (probability {p:.2f})")
            self.done(f"'{layer.name}' is class {cls} (probability {p:.2f})")
            return
        if pred.image is not None:
            lead = pred.image.ndim - image.ndim_spatial
            den = _shown(pred.image) if not isinstance(pred.image, np.ndarray) else np.asarray(pred.image, np.float32)
            add_result(self.viewer, den, f"{layer.name} denoised", "image",
                       **result_kwargs(layer, image, leading=lead))
            self.done(f"denoised '{layer.name}'")
            return
        maps = []
        if self.probabilities.value and pred.probabilities is not None and pred.task != "classify":
            maps = self._add_probabilities(pred, layer, geometry)
        name = f"{layer.name} {SUFFIX[pred.task]}"
        geometry["metadata"]["bioimg"]["predicted"] = True
        labels = add_result(self.viewer, _shown(pred.labels), name, "labels", **geometry)
        self._put_below(maps, labels)
        self.session.add_prediction(labels.name)
        self.viewer.layers.selection.active = labels
        self._report(pred, layer.name)

    def _add_probabilities(self, pred, layer, geometry) -> list:
        """One Image layer per class, named '<image> p(<class>)' (no class axis, so no extra slider)."""
        probs = _shown(pred.probabilities)
        probs = np.asarray(probs, np.float32) if isinstance(probs, np.ndarray) else probs
        added = []
        for k, cname in enumerate(channel_names(pred)):
            kw = {key: value for key, value in geometry.items() if key != "metadata"}
            kw["metadata"] = {"bioimg": dict(geometry["metadata"]["bioimg"], probability_of=cname)}
            new = f"{layer.name} p({cname})" not in self.viewer.layers
            out = add_result(self.viewer, probs[k], f"{layer.name} p({cname})", "image", **kw)
            if new:  # a first appearance gets a look; an update keeps what the user chose
                out.colormap = COLORMAPS[k % len(COLORMAPS)]
                out.contrast_limits = (0.0, 1.0)
                out.blending = "additive"
                out.visible = k > 0  # channel 0 is the background: hidden so the objects stand out
            added.append(out)
        return added

    def _put_below(self, maps: list, labels) -> None:
        """Move the probability layers directly below the labels layer."""
        layers = self.viewer.layers
        for out in maps:
            src, dest = layers.index(out), layers.index(labels)
            if src > dest:
                layers.move(src, dest)

    def _report(self, pred, source: str) -> None:
        if pred.task == "segment":
            counts = pred.summary.get("pixels_per_class", {})
            values = (np.unique(pred.labels) if isinstance(pred.labels, np.ndarray)
                      else np.array([i for i, n in enumerate(counts.values()) if n]))  # lazy: no full read
            if values.size < 2:
                self.warn(f"'{source}': every pixel got the same class ({int(values[0]) if values.size else 0}); "
                          "paint more examples of each class or train longer")
                return
            self.done(f"predicted '{source}': " + ", ".join(f"{c} {n} px" for c, n in counts.items()))
            return
        n = int(pred.summary["objects"]) if "objects" in pred.summary else len(np.unique(pred.labels)) - 1
        if n == 0:
            hint = "lower the threshold or min object size, or train longer" if pred.task == "instance" \
                else "choose an objects layer with painted objects"
            self.warn(f"no objects found in '{source}': {hint}")
            return
        self.done(f"predicted '{source}': {n} object{'s' if n != 1 else ''}")
