"""Dense prediction (segment / instance / denoise) through the engine into any array-like outputs.

``allocate(name, shape, dtype)`` creates each output: numpy arrays for the
in-memory result (``bioimg.inference.predict``), zarr arrays for results
larger than memory (``bioimg predict`` above a size, ``predict_to_zarr``,
the napari widget on large layers). Finished boxes of the engine are turned
into probabilities / labels / denoised intensities and written there; the
engine's band of blended logits is all that is held besides.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ._input import PreparedInput
from .engine import make_plan, run_tiles
from .postprocess import class_labels, label_offset

__all__ = ["numpy_allocate", "output_specs", "predict_dense", "denormalize"]

Allocate = Callable[[str, tuple, np.dtype], object]


def numpy_allocate(name: str, shape: tuple, dtype) -> np.ndarray:
    """In-memory outputs: zero-filled numpy arrays."""
    return np.zeros(shape, dtype=dtype)


def denormalize(x: np.ndarray, params: dict) -> np.ndarray:
    """Map normalized intensities back to the input's scale (per channel)."""
    method = params.get("method")
    shape = (-1,) + (1,) * (x.ndim - 1)
    if method in ("percentile", "minmax"):
        low = np.asarray(params["low"], dtype=np.float32).reshape(shape)
        high = np.asarray(params["high"], dtype=np.float32).reshape(shape)
        return x * (high - low) + low
    if method == "zscore":
        mean = np.asarray(params["mean"], dtype=np.float32).reshape(shape)
        std = np.asarray(params["std"], dtype=np.float32).reshape(shape)
        return x * std + mean
    return x


class _RowWriter:
    """Collects the boxes of one row of tiles (all axes but the last fixed) and writes them at once.

    On-disk arrays (zarr) pay per call and per partly written chunk; a row of boxes covers
    whole chunks (chunks follow the tile step). Holds one row of boxes: bounded by the tile.
    """

    def __init__(self, array, lead: int):
        self.array, self.lead = array, lead
        self.key, self.parts = None, []

    def __setitem__(self, sl: tuple, value: np.ndarray) -> None:
        key = sl[:-1]
        if key != self.key:
            self.flush()
            self.key = key
        self.parts.append((sl[-1], np.array(value, copy=True)))

    def flush(self) -> None:
        if not self.parts:
            return
        start, stop = self.parts[0][0].start, self.parts[-1][0].stop
        self.array[self.key + (slice(start, stop),)] = np.concatenate([v for _, v in self.parts], axis=-1)
        self.key, self.parts = None, []


def _softmax_inplace(x: np.ndarray) -> np.ndarray:
    """``postprocess.softmax(x, 0)`` without the temporaries (same operations, same numbers)."""
    np.subtract(x, x.max(axis=0, keepdims=True), out=x)
    np.exp(x, out=x)
    return np.divide(x, x.sum(axis=0, keepdims=True), out=x)


def output_specs(model, shape: tuple, channels: int, probabilities: bool = True) -> dict:
    """Name -> (shape, dtype) of the outputs :func:`predict_dense` allocates for ``model``."""
    info = model.info
    out_c = int(info.config.get("out_channels", channels))
    if info.task == "denoise":
        return {"image": (shape if out_c == 1 else (out_c,) + shape, np.dtype(np.float32))}
    specs = {}
    if info.task == "segment":
        dtype = class_labels(np.zeros((out_c, 1), np.float32), label_offset(info)).dtype
        specs["labels"] = (shape, dtype)
    if probabilities or info.task == "instance":
        specs["probabilities"] = ((out_c,) + shape, np.dtype(np.float32))
    return specs


def predict_dense(model, inp: PreparedInput, *, tile, overlap, allocate: Allocate = numpy_allocate,
                  probabilities: bool = True, boxes=None, progress=None, cancel=None) -> dict:
    """Run the engine for a dense ``model`` on ``inp``; return the allocated outputs by name.

    Outputs: denoise -> ``"image"`` ((C, *spatial) float32, or (*spatial) for
    one channel); segment -> ``"labels"`` (+ ``"probabilities"`` when asked);
    instance -> ``"probabilities"`` only (labels come from
    :func:`bioimg.inference.stitch.instances_blockwise`, which needs them).
    An output for which ``allocate`` returns None is not computed.
    """
    info = model.info
    task = info.task
    net = model.net
    out_c = int(info.config.get("out_channels", inp.channels))
    if task == "instance" and out_c < 3:
        raise ValueError("the instance watershed needs 3 probability channels (background, interior, "
                         f"boundary); the model gives {out_c}")
    plan = make_plan(inp.shape, tile, overlap, getattr(net, "size_multiple", 1))
    outs = {name: allocate(name, shape, dtype)
            for name, (shape, dtype) in output_specs(model, inp.shape, inp.channels, probabilities).items()}
    outs = {k: v for k, v in outs.items() if v is not None}
    arrays = outs
    outs = {k: v if isinstance(v, np.ndarray) else _RowWriter(v, v.ndim - len(inp.shape))
            for k, v in arrays.items()}
    offset = label_offset(info)
    bad_total = [0]

    def emit(box: tuple, logits: np.ndarray) -> None:
        if not np.isfinite(logits).all():
            raise ValueError(f"the model produced {int((~np.isfinite(logits)).sum())} NaN/inf outputs on a "
                             "finite input: the model file is broken (retrain it)")
        bad = inp.bad[box] if inp.bad is not None else inp.source.bad(box)
        if bad is not None and inp.bad is None:
            bad_total[0] += int(bad.sum())
        if task == "denoise":
            den = denormalize(logits, inp.norm).astype(np.float32, copy=False)
            outs["image"][box if out_c == 1 else (slice(None),) + box] = den[0] if out_c == 1 else den
            return
        probs = _softmax_inplace(logits)
        if bad is not None:
            probs[:, bad] = 0.0
        if "probabilities" in outs:
            outs["probabilities"][(slice(None),) + box] = probs
        if "labels" in outs:
            labels = class_labels(probs, offset)
            if bad is not None:
                labels[bad] = 0
            outs["labels"][box] = labels

    run_tiles(net, inp.source, out_c, plan, emit, boxes=boxes, progress=progress, cancel=cancel)
    for w in outs.values():
        if isinstance(w, _RowWriter):
            w.flush()
    outs = arrays
    if bad_total[0]:
        warnings.warn(f"the image has {bad_total[0]} NaN/inf pixels: predicted as background",
                      stacklevel=3)
    return outs
