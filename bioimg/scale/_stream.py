"""Streaming tiled prediction: images larger than memory, straight into a zarr store.

:func:`predict_to_zarr` runs the same tiles, blend window and summation
order as :func:`bioimg.inference.predict_tiled`, but walks the image one
*row* of tiles (a slab along the first spatial axis) at a time. Only that
slab of input (normalized on the fly) and two accumulators for the slab
band (blended sum and weight) are held in memory; the part of the band no
later row can touch is finished, post-processed and written to disk before
the next row is read. Peak memory depends on the tile size and the size of
the other spatial axes, never on the length of the first axis.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import dask.array as da
import numpy as np
import zarr

import autograd as torch

from ..inference.postprocess import class_labels, label_offset
from ..inference.tiling import _starts, blend_window
from ..preprocess import apply_normalization
from ..preprocess._percentile import percentiles
from ._chunked import percentiles_chunked

__all__ = ["predict_to_zarr"]


def _channel_first(image, axes: str | None):
    """(array (C, *spatial) without loading it, spatial axes) for arrays, dask, zarr or Images."""
    if hasattr(image, "data") and hasattr(image, "axes"):
        axes = axes or image.axes
        image = image.data
    if not isinstance(image, (np.ndarray, da.Array)):
        image = da.from_array(image, chunks=getattr(image, "chunks", "auto"))
    axes = (axes or {2: "YX", 3: "ZYX"}.get(image.ndim, "")).upper()
    if len(axes) != image.ndim or any(a not in "CZYX" for a in axes):
        raise ValueError(f"axes {axes!r} do not fit an array of shape {image.shape} "
                         "(use letters from 'CZYX', one per dimension)")
    if "C" not in axes:
        image, axes = image[None], "C" + axes
    spatial = axes.replace("C", "")
    if len(spatial) not in (2, 3):
        raise ValueError(f"images must be 2D or 3D, got spatial axes {spatial!r}")
    return np.moveaxis(image, axes.index("C"), 0), spatial


def _norm_params(arr, settings: dict) -> dict:
    """Normalization parameters equal to ``normalize_image`` on the whole array."""
    settings = dict(settings or {"method": "none"})
    method = settings.pop("method", "percentile")
    if method in (None, "none"):
        return {"method": "none"}
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    nch = arr.shape[0]
    axis = 0 if nch > 1 else None
    common = {"axis": axis, "eps": float(settings.get("eps", 1e-20))}
    if method in ("percentile", "minmax"):
        q = ((float(settings.get("pmin", 1.0)), float(settings.get("pmax", 99.8)))
             if method == "percentile" else (0.0, 100.0))
        if isinstance(arr, da.Array):
            lh = [percentiles_chunked(arr[c], q) for c in range(nch)]
        else:
            lh = [tuple(percentiles(np.asarray(arr[c]), list(q))) for c in range(nch)]
        params = {"method": method, "low": [float(v[0]) for v in lh],
                  "high": [float(v[1]) for v in lh], "clip": bool(settings.get("clip", False))}
        if method == "percentile":
            params.update(pmin=q[0], pmax=q[1])
        return {**params, **common}
    if method == "zscore":  # float64 reductions: equal to in-memory up to rounding
        x = arr if isinstance(arr, da.Array) else da.from_array(arr)
        x = x.astype(np.float64)
        red = tuple(range(1, x.ndim))
        mean, std = da.compute(x.mean(axis=red), x.std(axis=red))
        return {"method": "zscore", "mean": mean.tolist(), "std": std.tolist(), **common}
    raise ValueError(f"unknown normalization method {method!r}")


def _geometry(shape: tuple, tile, overlap, multiple: int, patch) -> tuple[tuple, tuple, list]:
    """Tile, overlap and start grids exactly as ``predict`` + ``predict_tiled`` choose them."""
    nd = len(shape)
    patch = tuple(patch) or (128,) * nd
    tile = tile or tuple(min(2 * p, 256 if nd == 2 else 96) for p in patch)
    tile = tuple((max(int(t), multiple) // multiple) * multiple for t in np.broadcast_to(tile, (nd,)))
    overlap = overlap if overlap is not None else tuple(t // 4 for t in tile)
    overlap = tuple(int(o) for o in np.broadcast_to(overlap, (nd,)))
    tile = tuple(min(t, -(-s // multiple) * multiple) for t, s in zip(tile, shape))
    overlap = tuple(min(o, t // 2) for o, t in zip(overlap, tile))
    grids = [_starts(s, t, t - o) for s, t, o in zip(shape, tile, overlap)]
    return tile, overlap, grids


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
        the denoised image in the input's intensity scale, (C, *spatial)).
        ``"labels"``: uint8/uint16 (*spatial) argmax + 1 (segment models only).
    progress : callable, optional
        ``progress(done, total)`` after each tile.
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
    are loaded once for them). The blended logits equal
    ``predict_tiled`` on the whole normalized image bit for bit (same tiles,
    weights and summation order). Memory: one slab of input (``tile[0]``
    along the first spatial axis, full extent along the others) plus two
    float32 band accumulators of the same extent; for 3D volumes the slab
    is a stack of ``tile[0]`` whole planes. Lazy inputs are read slab by
    slab: chunks much taller than a slab along the first spatial axis (e.g.
    a TIFF stored as one strip) are re-read for every slab, so rechunk them
    or use a memory map. Instance segmentation needs a
    watershed across slab borders, which is not done here: ``"labels"``
    refuses instance models (write ``"probabilities"`` and split them with
    :func:`bioimg.inference.instances_from_probs` on crops).
    """
    info = model.info
    if output not in ("probabilities", "labels"):
        raise ValueError(f"output must be 'probabilities' or 'labels', got {output!r}")
    if info.task == "classify":
        raise ValueError("streaming prediction needs a dense model, not 'classify'")
    if output == "labels" and info.task != "segment":
        raise ValueError(f"output='labels' needs a semantic 'segment' model, not {info.task!r} "
                         "(instance watershed across slab borders is not supported)")
    arr, spatial = _channel_first(image, axes)
    shape = tuple(int(s) for s in arr.shape[1:])
    if len(shape) != model.ndim:
        raise ValueError(f"the model works on {model.ndim}D images ({info.axes}); "
                         f"this image is {len(shape)}D ({shape})")
    if arr.shape[0] != info.config.get("in_channels", 1):
        raise ValueError(f"the model expects {info.config.get('in_channels', 1)} channel(s); "
                         f"the image has {arr.shape[0]}")
    net = model.net
    multiple = getattr(net, "size_multiple", 1)
    out_c = int(info.config.get("out_channels", arr.shape[0]))
    params = _norm_params(arr, info.normalization)
    tile, overlap, grids = _geometry(shape, tile, overlap, multiple, info.patch_size)

    out_path = Path(os.fspath(out_path))
    existed = out_path.exists()
    labels = output == "labels"
    chunks = tuple(min(s, 256 if len(shape) == 2 else 64) for s in shape)
    dtype = (np.uint8 if out_c < 255 else np.uint16) if labels else np.float32
    store = zarr.open_array(str(out_path), mode="w", shape=shape if labels else (out_c,) + shape,
                            chunks=chunks if labels else (1,) + chunks, dtype=dtype,
                            fill_value=0)
    store.attrs.update({"axes": spatial if labels else "C" + spatial, "task": info.task,
                        "output": output, "class_names": list(info.class_names),
                        "normalization": params})
    try:
        _run(net, arr, params, store, out_c, tile, overlap, grids, info.task,
             label_offset(info) if labels else None, progress, cancel)
    except BaseException:
        if not existed:
            shutil.rmtree(out_path, ignore_errors=True)
        raise
    return store


def _finish(band: np.ndarray, weight: np.ndarray, params: dict, task: str,
            offset: int | None) -> np.ndarray:
    """Blended logits of a completed band to what is written (probabilities, labels, image).

    ``offset`` is the label value of class 0 (the model's label convention) when labels are
    written, None for probabilities.
    """
    out = np.divide(band, weight, out=band)  # finished rows: reuse the band in place
    if task == "denoise":
        from ..inference.predict import _denormalize
        return _denormalize(out, params).astype(np.float32, copy=False)
    # softmax(out, 0) of bioimg.inference, in place (same operations, same numbers)
    np.subtract(out, out.max(axis=0, keepdims=True), out=out)
    probs = np.divide(np.exp(out, out=out), out.sum(axis=0, keepdims=True), out=out)
    if offset is not None:
        return class_labels(probs, offset)
    return probs


def _run(net, arr, params: dict, store: zarr.Array, out_c: int, tile: tuple, overlap: tuple,
         grids: list, task: str, offset: int | None, progress, cancel) -> None:
    """Row-by-row tiling loop: read a slab, predict its tiles, flush the finished band."""
    shape = tuple(int(s) for s in arr.shape[1:])
    rows, rest = grids[0], grids[1:]
    rest_pos = np.array(np.meshgrid(*rest, indexing="ij")).reshape(len(rest), -1).T
    total = len(rows) * len(rest_pos)
    edges = tuple(o if len(g) > 1 else 0 for o, g in zip(overlap, grids))
    win = blend_window(tile, edges)
    depth = min(tile[0], shape[0])  # rows of the band a slab touches
    band = np.zeros((out_c, depth) + shape[1:], np.float32)
    weight = np.zeros((depth,) + shape[1:], np.float32)
    base = rows[0]  # image row of band[:, 0]
    done = 0
    was_training = net.training
    net.eval()
    try:
        for i, r in enumerate(rows):
            shift = r - base
            if shift:  # keep the unfinished part of the band, clear the rest
                keep = depth - shift
                band[:, :keep] = band[:, shift:]
                weight[:keep] = weight[shift:]
                band[:, keep:] = 0
                weight[keep:] = 0
                base = r
            stop = min(r + tile[0], shape[0])
            slab = np.asarray(arr[:, r:stop])
            slab = apply_normalization(slab, params)
            for origin in rest_pos:
                if cancel is not None and cancel():
                    raise InterruptedError("prediction cancelled")
                sl = tuple(slice(int(o), int(o) + t) for o, t in zip(origin, tile[1:]))
                block = slab[(slice(None), slice(None)) + sl]
                valid = block.shape[1:]
                if valid != tile:
                    pads = [(0, 0)] + [(0, t - v) for t, v in zip(tile, valid)]
                    mode = "reflect" if all(v > t - v for v, t in zip(valid, tile)) else "edge"
                    block = np.pad(block, pads, mode=mode)
                with torch.no_grad():
                    x = torch.from_numpy(np.ascontiguousarray(block[None], dtype=np.float32))
                    pred = net(x).numpy()[0]
                crop = tuple(slice(0, v) for v in valid)
                w = win[crop]
                dst = (slice(0, valid[0]),) + tuple(slice(int(o), int(o) + v)
                                                    for o, v in zip(origin, valid[1:]))
                band[(slice(None),) + dst] += pred[(slice(None),) + crop] * w
                weight[dst] += w
                done += 1
                if progress is not None:
                    progress(done, total)
            end = rows[i + 1] if i + 1 < len(rows) else stop  # rows before `end` are final
            n = end - base
            res = _finish(band[:, :n], weight[:n], params, task, offset)
            if offset is not None:
                store[base:end] = res
            else:
                store[:, base:end] = res
    finally:
        net.train(was_training)
