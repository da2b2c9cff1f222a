"""Streaming tiled prediction: images larger than memory, straight into a zarr store.

:func:`predict_to_zarr` is the engine of :mod:`bioimg.inference.engine`
(the same tiles, blend window and summation order as
:func:`bioimg.inference.predict`) with zarr arrays as outputs: each
finished box of blended logits is post-processed and written to disk, so
memory holds one tile, one row of input tiles and the overlap band of
logits, never the image. Instance labels are made block by block from the
written probabilities and stitched across block borders
(:func:`bioimg.inference.instances_blockwise`).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr

from ..inference._input import prepare_input
from ..inference._progress import staged
from ..inference.dense import predict_dense
from ..inference.engine import default_tile, make_plan
from ..inference.postprocess import label_offset
from ..inference.stitch import instances_blockwise

__all__ = ["predict_to_zarr", "zarr_chunks"]


def zarr_chunks(plan_step: tuple, shape: tuple) -> tuple:
    """Output chunks equal to the tile step (finished boxes then fill whole chunks), at least 64 px."""
    return tuple(int(min(s, max(64, st))) for st, s in zip(plan_step, shape))


def predict_to_zarr(model, image, out_path: str | os.PathLike, *, axes: str | None = None,
                    tile=None, overlap=None, output: str = "probabilities",
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> zarr.Array:
    """Predict ``model`` on a (possibly larger than memory) image, writing a zarr array.

    Parameters
    ----------
    model : bioimg.modelfile.BioimgModel
        A dense model (task ``"segment"``, ``"instance"`` or ``"denoise"``).
    image : numpy.ndarray, numpy.memmap, dask.array.Array, zarr.Array or bioimg.io.Image
        2D/3D image, with or without a channel axis (an ``Image`` from
        :func:`bioimg.scale.read_lazy` keeps its pixels on disk).
    out_path : str or os.PathLike
        Zarr store (directory) to create; an existing one is overwritten.
    axes : str, optional
        Axes of an array (``"YX"``, ``"CZYX"``, ...); default the Image's,
        else ``"YX"`` / ``"ZYX"``.
    tile, overlap : int or tuple, optional
        As :func:`bioimg.inference.predict` (defaults: twice the training
        patch, a quarter of the tile).
    output : {"probabilities", "labels"}
        ``"probabilities"``: float32 (K, *spatial) softmax (denoise models:
        the denoised image in the input's intensity scale, (C, *spatial), or
        (*spatial) for one channel).
        ``"labels"``: (*spatial) class ids (segment models, uint8/uint16) or
        instance ids (instance models, uint32, stitched across blocks).
    progress : callable, optional
        ``progress(done, total)`` after each tile, then (instance labels) after each
        stitching block; a callback with a ``stage`` keyword is told which
        (:mod:`bioimg.inference._progress`).
    cancel : callable, optional
        Returning True stops with ``InterruptedError``; the store is removed.

    Returns
    -------
    zarr.Array
        The written array; ``attrs`` hold ``axes``, ``task``, ``output``,
        ``class_names`` and the normalization parameters.

    Notes
    -----
    Percentiles are computed first, chunk by chunk (exact for integer
    images, see :func:`bioimg.scale.percentiles_chunked`; float dask images
    are loaded once for them). The blended logits equal those of
    :func:`bioimg.inference.predict` on the whole image bit for bit (same
    engine, tiles, weights and summation order). Lazy inputs are read one
    row of tiles at a time (full extent along the last axis): chunks much
    taller than a tile along the other axes are re-read for every row, so
    rechunk them or use a memory map.
    """
    info = model.info
    if output not in ("probabilities", "labels"):
        raise ValueError(f"output must be 'probabilities' or 'labels', got {output!r}")
    if info.task == "classify":
        raise ValueError("streaming prediction needs a dense model, not 'classify'")
    if output == "labels" and info.task not in ("segment", "instance"):
        raise ValueError(f"output='labels' needs a 'segment' or 'instance' model, not {info.task!r}")

    def check(spatial_shape, channels):
        if len(spatial_shape) != model.ndim:
            raise ValueError(f"the model works on {model.ndim}D images ({info.axes}); "
                             f"this image is {len(spatial_shape)}D ({tuple(spatial_shape)})")
        if channels != info.config.get("in_channels", 1):
            raise ValueError(f"the model expects {info.config.get('in_channels', 1)} channel(s); "
                             f"the image has {channels}")

    inp = prepare_input(image, axes, info.normalization, "they are predicted as background", check)
    multiple = getattr(model.net, "size_multiple", 1)
    tile, overlap = default_tile(info.patch_size, model.ndim, multiple, tile, overlap)
    plan = make_plan(inp.shape, tile, overlap, multiple)
    chunks = zarr_chunks(tuple(t - o for t, o in zip(plan.tile, plan.overlap)), inp.shape)
    labels = output == "labels"
    out_path = Path(os.fspath(out_path))
    existed = out_path.exists()
    scratch = out_path.parent / f".{out_path.name}.probabilities-tmp"
    attrs = {"task": info.task, "output": output, "class_names": list(info.class_names),
             "normalization": inp.norm}

    def allocate(name, shape, dtype):
        if labels and name == "probabilities" and info.task == "segment":
            return None  # not asked for
        if not labels and name == "labels":
            return None
        # instance labels are stitched from probabilities kept in a scratch store
        path = scratch if (labels and name == "probabilities") else out_path
        return zarr.open_array(str(path), mode="w", shape=shape, chunks=(1,) * (len(shape) - len(inp.shape)) + chunks,
                               dtype=dtype, fill_value=0)

    try:
        outs = predict_dense(model, inp, tile=plan.tile, overlap=plan.overlap, allocate=allocate,
                             probabilities=not labels, progress=staged(progress, "tiles"), cancel=cancel)
        if labels and info.task == "instance":
            store = allocate("labels", inp.shape, np.uint32)
            spacing = getattr(image, "spacing", None)
            rel = tuple(sp / min(spacing) for sp in spacing) if spacing and len(spacing) == model.ndim else None
            attrs["objects"] = instances_blockwise(outs["probabilities"], store, spacing=rel, cancel=cancel,
                                                    progress=staged(progress, "stitching"))
        else:
            store = outs["labels"] if labels else outs.get("probabilities", outs.get("image"))
    except BaseException:
        if not existed:
            shutil.rmtree(out_path, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lead = store.ndim - len(inp.shape)
    store.attrs.update({**attrs, "axes": "C" * lead + inp.spatial})
    if labels and info.task == "segment":
        store.attrs["label_offset"] = label_offset(info)
    return store
