"""The engine's input: in-memory images normalized up front, lazy ones row by row.

In-memory arrays keep the exact rules of training (``normalize_finite``:
statistics ignore NaN/inf, those pixels become background). Lazy arrays
(dask, zarr, memory maps, ``bioimg.io.read(..., lazy=True)`` Images) never
load: normalization parameters come from bounded chunk-wise statistics
(exact histogram percentiles for integer images, see
:func:`bioimg.scale.percentiles_chunked`) and the engine's :class:`Source`
applies them to one row of tiles at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..training.prep import image_name, normalize_finite, to_channel_first
from .engine import Source

__all__ = ["PreparedInput", "prepare_input", "is_lazy", "channel_first_lazy", "norm_params"]


LAZY_MEMMAP = 2 ** 24  # memory maps above 16 M elements are read tile row by tile row, not normalized whole


def is_lazy(image) -> bool:
    """True for data that should not be loaded whole (dask, zarr, large memory maps)."""
    data = image.data if hasattr(image, "data") and hasattr(image, "axes") else image
    if isinstance(data, np.memmap):
        return data.size > LAZY_MEMMAP
    return not isinstance(data, np.ndarray)


def channel_first_lazy(image, axes: str | None):
    """(array (C, *spatial) without loading it, spatial axes) for arrays, dask, zarr or Images."""
    import dask.array as da

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


def norm_params(arr, settings: dict) -> dict:
    """Normalization parameters equal to ``normalize_image`` on the whole array, in bounded memory."""
    import dask.array as da

    from ..preprocess._percentile import percentiles
    from ..scale._chunked import percentiles_chunked

    settings = dict(settings or {"method": "none"})
    method = settings.pop("method", "percentile")
    if method in (None, "none"):
        return {"method": "none"}
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    nch = arr.shape[0]
    common = {"axis": 0 if nch > 1 else None, "eps": float(settings.get("eps", 1e-20))}
    if method in ("percentile", "minmax"):
        q = ((float(settings.get("pmin", 1.0)), float(settings.get("pmax", 99.8)))
             if method == "percentile" else (0.0, 100.0))
        if isinstance(arr, da.Array):
            lh = [percentiles_chunked(_histogram_chunks(arr[c]), q) for c in range(nch)]
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


def _histogram_chunks(x):
    """Merge tiny chunks (a TIFF strip each) into ~16 Mpx blocks: one histogram task per block."""
    if x.npartitions > 64 and x.size / x.npartitions < 2 ** 22:
        return x.rechunk({0: "auto"}, block_size_limit=2 ** 25) if x.ndim else x
    return x


@dataclass
class PreparedInput:
    """A :class:`Source` for the engine plus what the outputs need."""

    source: Source
    spatial: str
    shape: tuple
    channels: int
    norm: dict
    bad: np.ndarray | None  # in-memory inputs: non-finite pixels (background in the output)


def prepare_input(image, axes: str | None, settings: dict, consequence: str,
                  check=None) -> PreparedInput:
    """Channel-first input and normalization for ``image`` (array, dask, zarr or Image).

    ``check(spatial_shape, channels)`` runs before any statistics are computed
    (a wrong image fails fast).
    """
    if is_lazy(image):
        from ..preprocess import apply_normalization

        arr, spatial = channel_first_lazy(image, axes)
        if check is not None:
            check(tuple(arr.shape[1:]), int(arr.shape[0]))
        import dask

        with dask.config.set(scheduler="threads"):  # statistics run here, not on a distributed cluster
            params = norm_params(arr, settings)
        prep = (lambda b: apply_normalization(b, params)) if params.get("method") != "none" else \
            (lambda b: np.asarray(b, dtype=np.float32))
        return PreparedInput(Source(arr, prep), spatial, tuple(int(s) for s in arr.shape[1:]),
                             int(arr.shape[0]), params, None)
    arr, spatial = to_channel_first(image, axes)
    if check is not None:
        check(tuple(arr.shape[1:]), int(arr.shape[0]))
    x, norm, bad = normalize_finite(arr, settings, image_name(image, 0, 1), consequence)
    return PreparedInput(Source(x), spatial, tuple(x.shape[1:]), int(x.shape[0]), norm, bad)
