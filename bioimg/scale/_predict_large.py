"""Prediction of one large image straight to disk: OME-Zarr (multiscale) or tiled TIFF outputs.

:func:`predict_large` runs :func:`bioimg.inference.predict` with outputs
allocated on disk, so memory holds the engine's tile and band, never the
image or its results. OME-Zarr outputs are written in place inside hidden
temporary groups (:class:`bioimg.io._zarr.NgffWriter`) and renamed when
complete, with a pyramid of halved levels so napari opens them quickly;
tiled TIFF outputs are assembled from a scratch zarr store afterwards.
Scratch data (instance probabilities nobody asked for, provisional ids)
live in a hidden folder next to the outputs and are removed at the end,
also on Ctrl-C.
"""
from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr

from ..inference.engine import default_tile, make_plan
from ..inference.predict import Prediction, predict
from ._stream import zarr_chunks

__all__ = ["predict_large", "LARGE_FORMATS", "LARGE_MPX", "large_suffix", "should_stream"]

LARGE_FORMATS = {"ome-zarr": ".ome.zarr", "tiff": ".tif"}
LARGE_MPX = 16.0  # above 16 Mpx (4096 x 4096) ``bioimg predict`` streams: lazy input, on-disk outputs


def large_suffix(fmt: str) -> str:
    """Output suffix of a large-output format (``ome-zarr`` -> ``.ome.zarr``, ``tiff`` -> ``.tif``)."""
    return LARGE_FORMATS[fmt]


def predict_large(model, image, out_dir: Path, name: str, *, fmt: str = "ome-zarr", tile=None,
                  threshold: float = 0.5, min_size: int = 10, probabilities: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, client=None, model_path=None,
                  image_path=None) -> tuple[Prediction, list[Path]]:
    """Predict ``model`` on a (lazy) ``bioimg.io.Image`` and write NAME_labels / _probabilities / _denoised.

    Parameters
    ----------
    model : BioimgModel
        Dense model (segment, instance or denoise).
    image : bioimg.io.Image
        Typically from ``bioimg.io.read(path, lazy=True)``; pixels are read one row of tiles at a time.
    out_dir : Path
        Output folder.
    name : str
        Output stem.
    fmt : {"ome-zarr", "tiff"}
        OME-NGFF v0.5 group with a multiscale pyramid, or tiled BigTIFF.
    tile, threshold, min_size, probabilities, progress, cancel
        As :func:`bioimg.inference.predict`.
    client, model_path, image_path : optional
        A ``distributed.Client``: the image (``image_path``, opened by every worker) is split
        across its workers by blocks of tile rows (:func:`bioimg.scale._distributed.predict_distributed`;
        the model is loaded there from ``model_path``); the outputs are the same.

    Returns
    -------
    (Prediction, list of Path)
        The prediction (its arrays are the on-disk zarr arrays; do not use them
        after the call for TIFF outputs) and the written paths.
    """
    if fmt not in LARGE_FORMATS:
        raise ValueError(f"unknown large-output format {fmt!r} (use {', '.join(LARGE_FORMATS)})")
    info = model.info
    spatial = image.spatial_axes
    shape = tuple(int(image.shape[image.axes.index(a)]) for a in spatial)
    multiple = getattr(model.net, "size_multiple", 1)
    t, o = default_tile(info.patch_size, len(shape), multiple, tile, None)
    plan = make_plan(shape, t, o, multiple)
    chunks = zarr_chunks(tuple(a - b for a, b in zip(plan.tile, plan.overlap)), shape)
    out_dir = Path(out_dir)
    scratch = out_dir / f".{name}.bioimg-scratch-{secrets.token_hex(4)}"
    scratch.mkdir()
    suffix = LARGE_FORMATS[fmt]
    writers, tiffs, written = {}, {}, []
    kinds = {"labels": "labels", "probabilities": "probabilities", "image": "denoised"}

    def scratch_array(key, shp, dtype):
        lead = len(shp) - len(shape)
        # scratch is read back once and deleted: no compression (CPU), chunks as the outputs'
        return zarr.create_array(str(scratch / key), shape=shp, dtype=dtype, chunks=(1,) * lead + chunks,
                                 fill_value=0, compressors=None, overwrite=True)

    def allocate(key, shp, dtype):
        if key == "probabilities" and not probabilities:
            return scratch_array(key, shp, dtype) if info.task == "instance" else None
        if key not in kinds:  # provisional instance ids
            return scratch_array(key, shp, dtype)
        axes = "C" * (len(shp) - len(shape)) + spatial
        if fmt == "tiff":
            arr = scratch_array(key, shp, dtype)
            tiffs[kinds[key]] = (arr, axes)
            return arr
        from ..io._zarr import NgffWriter

        w = NgffWriter(out_dir / f"{name}_{kinds[key]}{suffix}", axes, shp, dtype,
                       (1,) * (len(shp) - len(shape)) + chunks, spacing=tuple(image.spacing),
                       unit=image.unit, name=name, labels=key == "labels")
        writers[kinds[key]] = w
        return w.array

    try:
        if client is None:
            pred = predict(model, image, tile=plan.tile, overlap=plan.overlap, threshold=threshold,
                           min_size=min_size, progress=progress, cancel=cancel, allocate=allocate,
                           probabilities=probabilities)
        else:
            from ._distributed import predict_distributed

            outs = predict_distributed(model_path, image_path, scratch, client, tile=plan.tile,
                                       overlap=plan.overlap, probabilities=probabilities, threshold=threshold,
                                       min_size=min_size, allocate=allocate, progress=progress,
                                       cancel=cancel)
            pred = Prediction(info.task, labels=outs.get("labels"), image=outs.get("image"),
                              summary={"objects": outs["objects"]} if "objects" in outs else {})
        for kind, w in writers.items():
            written.append(w.commit())
        for kind, (arr, axes) in tiffs.items():
            written.append(_write_tiled(out_dir / f"{name}_{kind}{suffix}", arr, axes, image))
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return pred, written


def _write_tiled(path: Path, arr, axes: str, image) -> Path:
    from ..io._atomic import atomic_output
    from ..io._tiff_write import write_tiff_tiled

    with atomic_output(path, ".tif") as tmp:
        write_tiff_tiled(tmp, arr, axes, tuple(image.spacing), image.unit)
    return path


def image_pixels(image) -> int:
    """Pixels of an Image (all axes), without reading it."""
    return int(np.prod([int(n) for n in image.shape]))


def should_stream(image, threshold_mpx: float) -> bool:
    """True when the image has more than ``threshold_mpx`` million pixels."""
    return image_pixels(image) > threshold_mpx * 1e6 if threshold_mpx >= 0 else False

