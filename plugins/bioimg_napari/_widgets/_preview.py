"""Live training in the Train widget: a preview layer of the model on the visible field, labels that join.

Threads, and who does what:

- main thread (a ``QTimer`` every ``interval`` s): reads the field of view
  (the visible part of the image, the current slice's slab in 3D) and, when
  the Labels layer was painted since the last tick, a copy of its data.
  Both go into slots under a lock; nothing is computed here.
- training worker (``between_steps``, called by ``train_job`` after each
  step): moves new labels into the running ``Trainer`` (``update_labels``)
  and, once ``interval`` s have passed, predicts the field of view on a copy
  of the weights (``bioimg.training.preview``); the result is yielded. The
  time this takes is added to ``Trainer.paused``, so the time budget still
  buys the same training, and previews take at most a quarter of the time.
- main thread again (the worker's ``yielded`` signal): writes the preview
  into the "<image> preview" layer. Only this layer update touches napari.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from qtpy.QtCore import QObject, QTimer

from .._layers import add_result, result_kwargs

PREVIEW_INTERVAL = 3.0  # seconds between previews (and between label snapshots)
PREVIEW_CAP = 384       # largest previewed size per displayed axis (centred on the view)


class PreviewResult:
    """A preview computed in the worker: where it goes and what it shows."""

    def __init__(self, region: tuple, data: np.ndarray, step: int) -> None:
        self.region, self.data, self.step = region, data, step


def visible_region(viewer, layer, shape: tuple, slab: int, cap: int = PREVIEW_CAP) -> tuple:
    """Spatial slices of ``layer``'s data on screen: the visible YX box, a slab around the current Z.

    ``shape`` is the spatial shape (the layer's last dims); ``slab`` the depth
    predicted around the current slice of a 3D image. Falls back to the whole
    extent when napari has not drawn the layer yet (no corner pixels).
    """
    nd = len(shape)
    lead = layer.ndim - nd
    try:
        corners = np.asarray(layer.corner_pixels, dtype=float)[:, lead:]
        point = np.asarray(layer.world_to_data(viewer.dims.point), dtype=float)[lead:]
        displayed = [d - (viewer.dims.ndim - layer.ndim) - lead for d in viewer.dims.displayed]
    except (AttributeError, ValueError, IndexError, TypeError):
        corners, point, displayed = None, np.asarray(shape, float) / 2, list(range(nd - 2, nd))
    region = []
    for ax, size in enumerate(shape):
        if ax in displayed:
            lo, hi = (0, size) if corners is None else (int(corners[0, ax]), int(corners[1, ax]) + 1)
            if hi - lo < 2:  # not drawn yet: the whole axis
                lo, hi = 0, size
            if hi - lo > cap:
                mid = (lo + hi) // 2
                lo, hi = mid - cap // 2, mid + cap // 2
        else:  # a slider axis (Z in 3D): the slab around the current slice
            z = int(np.clip(round(float(point[ax])), 0, size - 1))
            lo, hi = z - slab // 2, z - slab // 2 + slab
        lo, hi = max(0, lo), min(size, hi)
        region.append(slice(lo, max(hi, lo + 1)))
    return tuple(region)


class LiveTraining(QObject):
    """The live part of one training run (see the module docstring).

    Parameters
    ----------
    widget : TrainWidget
        Owner (its viewer, image and labels layers).
    image_layer, labels_layer : napari layers
        What is trained on; ``labels_layer`` may be None (no live labels).
    spatial : tuple
        The image's spatial shape.
    corrections : callable, optional
        ``corrections(labels) -> bool mask`` of corrected pixels (predicted layers).
    preview : bool
        Show the preview layer (segment / instance runs).
    """

    def __init__(self, widget, image_layer, labels_layer, spatial: tuple, *, corrections=None,
                 preview: bool = True, interval: float = PREVIEW_INTERVAL) -> None:
        super().__init__(widget)
        self.widget, self.viewer = widget, widget.viewer
        self.image_layer, self.labels_layer = image_layer, labels_layer
        self.spatial, self.corrections, self.show_preview = tuple(spatial), corrections, preview
        self.interval = float(interval)
        self.layer = None
        self.updates = 0            # previews shown (tests and the status line)
        self.label_updates = 0      # label snapshots the running training took
        self._lock = threading.Lock()
        self._region = None
        self._labels = None
        self._dirty = False
        self._last_preview = time.monotonic()
        self._cost = 0.0            # seconds the last preview took
        self._timer = QTimer(self)
        self._timer.setInterval(int(self.interval * 1000))
        self._timer.timeout.connect(self.tick)
        if labels_layer is not None:
            for name in ("paint", "labels_update", "data", "set_data"):
                emitter = getattr(labels_layer.events, name, None)
                if emitter is not None:
                    emitter.connect(self._painted)

    # -- main thread ------------------------------------------------------------
    def start(self) -> None:
        self.tick()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self.labels_layer is not None:
            for name in ("paint", "labels_update", "data", "set_data"):
                emitter = getattr(self.labels_layer.events, name, None)
                if emitter is not None:
                    emitter.disconnect(self._painted)

    def _painted(self, event=None) -> None:
        self._dirty = True

    def tick(self) -> None:
        """Read the field of view and, if painted since, the labels (main thread)."""
        slab = 16 if len(self.spatial) == 3 else 1
        region = visible_region(self.viewer, self.image_layer, self.spatial, slab)
        labels = None
        if self._dirty and self.labels_layer is not None:
            self._dirty = False
            data = np.array(self.labels_layer.data, copy=True)
            if data.shape == self.spatial:
                labels = (data, self.corrections(data) if self.corrections else None)
        with self._lock:
            self._region = region
            if labels is not None:
                self._labels = labels

    def show(self, result: PreviewResult) -> None:
        """Write a worker's preview into the preview layer (main thread)."""
        if not self.show_preview:
            return
        name = f"{self.image_layer.name} preview"
        layer = self.viewer.layers[name] if name in self.viewer.layers else None
        if layer is None or tuple(layer.data.shape) != self.spatial:
            from .._layers import layer_to_image

            image = layer_to_image(self.image_layer, self.viewer)
            kw = result_kwargs(self.image_layer, image)
            kw["metadata"]["bioimg"]["preview"] = True
            layer = add_result(self.viewer, np.zeros(self.spatial, np.float32), name, "image", **kw)
            layer.colormap, layer.blending, layer.opacity = "magma", "additive", 0.6
            layer.contrast_limits = (0.0, 1.0)
        layer.data[result.region] = result.data
        layer.refresh()
        self.layer = layer
        self.updates += 1

    # -- training worker ----------------------------------------------------------
    def between_steps(self, trainer, step: int) -> PreviewResult | None:
        """New labels into the running trainer; a preview when one is due (worker thread)."""
        with self._lock:
            labels, self._labels = self._labels, None
            region = self._region
        t0 = time.monotonic()
        if labels is not None:
            data, corrected = labels
            trainer.update_labels([data], None if corrected is None else [corrected])
            self.label_updates += 1
        result = None
        # at most a quarter of the time goes to previews, however slow the machine
        due = self._last_preview + max(self.interval, 3.0 * self._cost)
        if self.show_preview and region is not None and t0 >= due:
            from bioimg.training.preview import preview

            start = time.monotonic()
            result = PreviewResult(region, preview(trainer, region), step)
            self._last_preview = time.monotonic()
            self._cost = self._last_preview - start
        # this time is not training time: the run's time budget does not pay for it
        trainer.paused = getattr(trainer, "paused", 0.0) + (time.monotonic() - t0)
        return result
