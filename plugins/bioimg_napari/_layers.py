"""Conversions between napari layers and :class:`bioimg.io.Image`.

A layer read by the plugin carries ``metadata["bioimg"]`` (axes, unit,
source file and the source's own metadata, e.g. a NIfTI affine), so what is
written back or predicted keeps its geometry. Layers from elsewhere get
axes from their dimensionality (``YX``, ``ZYX``, ``TZYX``) and spacing from
their ``scale``.
"""
from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from bioimg.io import Image

LayerData = tuple  # (data, kwargs, layer_type), napari's LayerData tuple
DEFAULT_AXES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TCZYX"}
_LABEL_WORDS = ("label", "mask", "seg")


@functools.lru_cache(maxsize=None)
def _known_unit(unit: str) -> bool:
    """Whether napari (pint) understands ``unit`` as a layer unit."""
    try:
        import pint

        pint.get_application_registry().Unit(unit)
        return True
    except Exception:  # pint missing, or an unknown unit name
        return False


@functools.lru_cache(maxsize=None)
def _layer_accepts(name: str) -> bool:
    """Whether this napari's layers take keyword ``name`` (``units`` and ``axis_labels`` are new)."""
    import inspect

    from napari.layers import Image as ImageLayer

    return name in inspect.signature(ImageLayer.__init__).parameters


def _subsample(data: np.ndarray, limit: int = 2_000_000) -> np.ndarray:
    """A few whole rows of a few planes: enough to look at values and neighbours."""
    arr = np.asarray(data) if data.ndim < 2 else data.reshape((-1,) + data.shape[-2:])
    if arr.ndim < 3:
        arr = arr.reshape((1, 1, -1)) if arr.ndim == 1 else arr[None]
    planes = np.unique(np.linspace(0, arr.shape[0] - 1, min(arr.shape[0], 8)).astype(int))
    step = max(1, int(np.ceil(len(planes) * arr.shape[1] * arr.shape[2] / limit)))
    return np.asarray(arr[planes, ::step])


def looks_like_labels(name: str, data: np.ndarray) -> bool:
    """Whether a file should open as a Labels layer.

    True for names containing "label", "mask" or "seg" (with integer or
    integral data), for boolean data, and for non-negative integer data that
    is piecewise constant (few values, most foreground pixels equal to their
    neighbour), as label images are and noisy intensity images are not.
    """
    named = any(word in name.lower() for word in _LABEL_WORDS)
    kind = data.dtype.kind
    if kind == "b":
        return True
    sample = _subsample(data)
    if kind == "f":
        return named and bool(np.all(np.isfinite(sample))) and bool(np.all(sample == np.round(sample)))
    if kind not in "iu":
        return False
    if named:
        return True
    if sample.size == 0 or sample.min() < 0 or np.unique(sample).size > 4096:
        return False
    fg = sample[..., :-1] != 0
    if not fg.any():
        return False
    same = sample[..., 1:] == sample[..., :-1]
    return float(same[fg].mean()) > 0.8


def _metadata(image: Image, axes: str, source: str | os.PathLike | None) -> dict:
    return {"bioimg": {"axes": axes, "unit": image.unit, "source": os.fspath(source) if source else None,
                       "image_metadata": dict(image.metadata)}}


def _unit_kwargs(unit: str, axes: str, ndim: int) -> dict[str, Any]:
    """``units``/``axis_labels`` where this napari supports them."""
    kw: dict[str, Any] = {}
    if _layer_accepts("axis_labels"):
        kw["axis_labels"] = tuple(a.lower() for a in axes[-ndim:])
    if unit != "pixel" and _layer_accepts("units") and _known_unit(unit):
        kw["units"] = tuple(unit if a in "ZYX" else "pixel" for a in axes[-ndim:])
    return kw


def image_to_layer_data(image: Image, *, layer_type: str | None = None, name: str | None = None,
                        source=None) -> list[LayerData]:
    """napari ``LayerData`` tuples for an Image (channels become separate layers).

    Parameters
    ----------
    image : bioimg.io.Image
    layer_type : {"image", "labels"}, optional
        Default: guessed with :func:`looks_like_labels`.
    name : str, optional
        Layer name (default: ``image.name``).
    source : path, optional
        The file the image came from, kept in the layer metadata.
    """
    name = name or image.name or "image"
    data, axes = image.data, image.axes
    rgb = axes.endswith("C") and data.shape[-1] in (3, 4) and data.dtype.kind in "uif"
    layer_type = layer_type or ("labels" if not rgb and looks_like_labels(name, data) else "image")
    if layer_type == "labels":
        if data.dtype.kind not in "biu":
            data = np.asarray(data).astype(np.int32)
        kw: dict[str, Any] = {"name": name, "scale": image.scale, "opacity": 0.6}
        kw.update(_unit_kwargs(image.unit, axes, data.ndim))
        kw["metadata"] = _metadata(image, axes, source)
        return [(data, kw, "labels")]
    kw = {"name": name}
    if rgb:
        lead = axes[:-1]
        kw.update(rgb=True, scale=image.scale[:-1], metadata=_metadata(image, lead, source))
        kw.update(_unit_kwargs(image.unit, lead, len(lead)))
    elif "C" in axes and data.shape[axes.index("C")] > 1:
        c = axes.index("C")
        lead = axes.replace("C", "")
        n = data.shape[c]
        kw.update(channel_axis=c, name=[f"{name} ch{i}" for i in range(n)],
                  scale=tuple(s for i, s in enumerate(image.scale) if i != c),
                  metadata=_metadata(image, lead, source))
        kw.update(_unit_kwargs(image.unit, lead, len(lead)))
    else:
        if "C" in axes:
            data = np.take(data, 0, axis=axes.index("C"))
            axes = axes.replace("C", "")
        kw.update(scale=tuple(s for a, s in zip(image.axes, image.scale) if a != "C"),
                  metadata=_metadata(image, axes, source))
        kw.update(_unit_kwargs(image.unit, axes, data.ndim))
    return [(data, kw, "image")]


def _layer_data(layer) -> np.ndarray:
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return np.asarray(data)


def state_axes(ndim: int, rgb: bool, metadata: dict, name: str = "layer") -> str:
    """Axes letters of layer data: from ``metadata["bioimg"]`` when they fit, else guessed from ``ndim``."""
    axes = str((metadata or {}).get("bioimg", {}).get("axes") or "")
    if len(axes) != ndim or set(axes) - set("TCZYX"):
        if ndim not in DEFAULT_AXES:
            raise ValueError(f"layer '{name}' has {ndim} dimensions; bioimg works on 2D or 3D images "
                             "(optionally with time)")
        axes = DEFAULT_AXES[ndim]
    return axes + ("C" if rgb else "")


def layer_axes(layer) -> str:
    """The axes letters of a layer's data (``metadata["bioimg"]`` or guessed from ndim)."""
    return state_axes(layer.ndim, bool(getattr(layer, "rgb", False)), layer.metadata, layer.name)


def image_from_state(data, meta: dict) -> Image:
    """An Image from layer data and a layer-state dict (``scale``, ``metadata``, ``rgb``, ``name``, ``units``).

    This is what npe2 writers receive; spacing comes from ``scale``, unit and
    source metadata (e.g. a NIfTI affine) from ``metadata["bioimg"]``.
    """
    data = np.asarray(data[0] if isinstance(data, list) else data)
    rgb = bool(meta.get("rgb", False))
    ndim = data.ndim - int(rgb)
    name = str(meta.get("name") or "image")
    axes = state_axes(ndim, rgb, meta.get("metadata") or {}, name)
    scale = list(meta.get("scale") if meta.get("scale") is not None else [1.0] * ndim)
    bmeta = (meta.get("metadata") or {}).get("bioimg", {})
    unit = bmeta.get("unit")
    if not unit:
        units = [str(u) for u, a in zip(meta.get("units") or (), axes) if a in "ZYX"]
        unit = units[0] if units and len(set(units)) == 1 else "pixel"
    spacing = tuple(abs(float(s)) or 1.0 for s, a in zip(scale, axes) if a in "ZYX")
    return Image(data, axes, spacing, str(unit), name=name, metadata=dict(bmeta.get("image_metadata") or {}))


def layer_to_image(layer, viewer=None) -> Image:
    """An Image (data, axes, spacing from ``scale``, unit) for a napari layer.

    With ``viewer``, a time axis is reduced to the time point shown in the
    viewer, so widgets always work on one 2D/3D image.
    """
    units = getattr(layer, "units", None)
    state = {"scale": layer.scale, "metadata": layer.metadata, "rgb": getattr(layer, "rgb", False),
             "name": layer.name, "units": units}
    image = image_from_state(_layer_data(layer), state)
    if "T" in image.axes and viewer is not None:
        t = image.axes.index("T")
        point = layer.world_to_data(viewer.dims.point)
        index = int(np.clip(round(float(point[t])), 0, image.shape[t] - 1))
        image = image.with_data(np.take(image.data, index, axis=t), axes=image.axes.replace("T", ""))
    return image


def result_kwargs(source, image: Image, *, leading: int = 0) -> dict[str, Any]:
    """Layer geometry for a result computed from ``image`` (read from layer ``source``).

    The result covers the spatial axes of ``image`` (plus ``leading`` extra
    axes such as classes in front): same scale and translate as the source's
    spatial dimensions, and the source's bioimg metadata with new axes.
    """
    src_axes = layer_axes(source)
    idx = [i for i, a in enumerate(src_axes[: source.ndim]) if a in image.spatial_axes]
    scale = (1.0,) * leading + tuple(float(source.scale[i]) for i in idx)
    translate = (0.0,) * leading + tuple(float(source.translate[i]) for i in idx)
    meta = dict(source.metadata.get("bioimg", {}))
    meta["axes"] = "C" * leading + image.spatial_axes
    kw: dict[str, Any] = {"scale": scale, "translate": translate, "metadata": {"bioimg": meta}}
    units = getattr(source, "units", None)
    if units is not None and _layer_accepts("units"):
        kw["units"] = ("pixel",) * leading + tuple(str(units[i]) for i in idx)
    labels = getattr(source, "axis_labels", None)
    if labels is not None and _layer_accepts("axis_labels"):
        kw["axis_labels"] = tuple(f"c{i}" for i in range(leading)) + tuple(labels[i] for i in idx)
    return kw


def add_result(viewer, data: np.ndarray, name: str, layer_type: str, **kwargs):
    """Show a result: update the layer called ``name`` if it has this type, else add a new layer."""
    for layer in viewer.layers:
        if layer.name == name and type(layer).__name__.lower() == layer_type and layer.ndim == data.ndim:
            layer.data = data
            for key in ("scale", "translate", "metadata", "units", "axis_labels"):
                if key in kwargs:
                    setattr(layer, key, kwargs[key])
            return layer
    return getattr(viewer, f"add_{layer_type}")(data, name=name, **kwargs)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux/macOS), or None if unknown."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(nbytes: float, what: str) -> None:
    """Raise ``MemoryError`` with a clear message when ``nbytes`` exceed the free memory."""
    free = available_memory()
    if free is not None and nbytes > 0.8 * free:
        raise MemoryError(f"{what} needs about {nbytes / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB "
                          "of memory is free: crop the image or use a smaller model/tile")
