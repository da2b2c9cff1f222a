"""Chunk-wise diffusion, exact percentiles and normalisation of dask arrays.

The in-memory functions of :mod:`bioimg.preprocess` applied to images that
do not fit in memory, chunk by chunk with :mod:`dask.array`, giving the
same numbers as on the whole array:

* :func:`diffuse_chunked`: each explicit Perona-Malik step only reads the
  direct neighbours, so after ``niter`` steps a voxel depends on voxels at
  most ``niter`` away along each axis. Every chunk is diffused with a halo
  of ``niter`` voxels (``dask.array.map_overlap``, ``boundary="none"``: no
  halo beyond the true image border, where the in-memory zero-flux rule
  applies as on the whole array) and the halo is trimmed away.
* :func:`percentiles_chunked`: integer images sum per-chunk ``np.bincount``
  histograms, then interpolate exactly as ``np.percentile`` (``linear``).
* :func:`normalize_percentile_chunked`: those percentiles, then the affine
  map of :func:`bioimg.preprocess.apply_normalization` chunk by chunk.
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import dask
import dask.array as da
import numpy as np

from ..preprocess._diffusion import _normalize_axes, anisotropic_diffusion, stability_limit
from ..preprocess._normalize import apply_normalization
from ..preprocess._percentile import _MAX_BINS, _lerp, _ranks, percentiles

__all__ = ["diffuse_chunked", "percentiles_chunked", "normalize_percentile_chunked"]


def diffuse_chunked(data: da.Array, niter: int = 10, kappa: float = 50, gamma: float = 0.1,
                    option: int = 1, spacing: float | Sequence[float] | None = None,
                    axis: int | Sequence[int] | None = None, *,
                    dtype: np.dtype | type = np.float32) -> da.Array:
    """Lazy :func:`~bioimg.preprocess.anisotropic_diffusion` of a dask array.

    Parameters
    ----------
    data : dask.array.Array
        Real-valued image (any chunking; chunks smaller than ``niter`` are
        fine, dask merges neighbours to build the halo).
    niter, kappa, gamma, option, spacing, axis, dtype
        As :func:`bioimg.preprocess.anisotropic_diffusion`. ``gamma`` above
        the stability limit of the whole image warns once and is clipped.

    Returns
    -------
    dask.array.Array
        Lazy result with ``data``'s chunks, dtype ``dtype`` (float32 by
        default). Computing it gives the in-memory result on the whole array
        up to float rounding (the per-chunk value range may pick ``exp``
        instead of ``exp2`` for option 1: relative differences ~1e-7).

    Notes
    -----
    Each task holds one chunk plus its halo (``2 * niter`` more voxels per
    spatial axis) in float32; choose chunks much larger than ``niter``.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.random.default_rng(0).normal(size=(64, 64)), chunks=16)
    >>> diffuse_chunked(x, niter=5, kappa=1.0, gamma=0.2).compute().dtype
    dtype('float32')
    """
    data = data if isinstance(data, da.Array) else da.asarray(data)
    if data.dtype.kind not in "biuf":
        raise ValueError(f"diffuse_chunked needs a real-valued image, got dtype {data.dtype}")
    if option not in (1, 2):
        raise ValueError(f"option must be 1 or 2, got {option!r}")
    if int(niter) != niter or niter < 0:
        raise ValueError(f"niter must be a non-negative integer, got {niter!r}")
    niter, kappa, gamma = int(niter), float(kappa), float(gamma)
    batch = _normalize_axes(axis, data.ndim)
    spatial = [a for a in range(data.ndim) if a not in batch]
    if not spatial:
        raise ValueError("at least one axis must be left to diffuse along")
    if spacing is None:
        spacing = (1.0,) * len(spatial)
    elif np.ndim(spacing) == 0:
        spacing = (float(spacing),) * len(spatial)
    spacing = tuple(float(h) for h in spacing)
    if len(spacing) != len(spatial):
        raise ValueError(f"spacing has {len(spacing)} values for {len(spatial)} diffused axes")
    if not all(h > 0 and math.isfinite(h) for h in spacing):
        raise ValueError(f"spacing must be positive and finite, got {spacing}")
    active = [h for h, a in zip(spacing, spatial) if data.shape[a] > 1]
    if active and gamma > stability_limit(active) * (1 + 1e-9):
        limit = stability_limit(active)
        warnings.warn(f"gamma={gamma:g} exceeds the stability limit {limit:g} for spacing "
                      f"{spacing}; using gamma={limit:g}", UserWarning, stacklevel=2)
        gamma = limit
    # A chunk's halo may make some of its axes longer than the image's own
    # limit would allow: the globally clipped gamma is never above a chunk's.
    depth = {a: (min(niter, data.shape[a] - 1) if a in spatial else 0) for a in range(data.ndim)}

    def block(x: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return anisotropic_diffusion(x, niter, kappa, gamma, option, spacing,
                                         batch or None, dtype=dtype, workers=1)

    if niter == 0 or data.size == 0:
        return data.astype(dtype)
    out = da.map_overlap(block, data, depth=depth, boundary="none", trim=True,
                         dtype=np.dtype(dtype), meta=np.empty((0,) * data.ndim, dtype))
    # dask merges chunks thinner than the halo before overlapping: restore them
    return out if out.chunks == data.chunks else out.rechunk(data.chunks)


def _block_hist(x: np.ndarray, lo: int, nbins: int) -> np.ndarray:
    """``np.bincount`` of one chunk's values minus ``lo`` (int64, ``nbins`` bins)."""
    flat = x.reshape(-1)
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    counts = np.zeros(nbins, np.int64)
    step = 1 << 20
    for i in range(0, flat.size, step):
        counts += np.bincount(np.subtract(flat[i:i + step], lo, dtype=np.intp), minlength=nbins)
    return counts


def _histogram(data: da.Array) -> tuple[np.ndarray, int] | None:
    """Summed per-chunk histograms and the value of bin 0 (None: span too wide)."""
    if data.dtype == np.bool_ or data.dtype.itemsize <= 2:
        info = np.iinfo(np.uint8 if data.dtype == np.bool_ else data.dtype)
        lo, hi = int(info.min), int(info.max)
    else:  # wider integers: one min/max pass sizes the histogram
        lo, hi = (int(v) for v in dask.compute(data.min(), data.max()))
        if hi - lo >= _MAX_BINS:
            return None
    nbins = hi - lo + 1
    parts = [da.from_delayed(dask.delayed(_block_hist)(b, lo, nbins), (nbins,), np.int64)
             for b in data.to_delayed().ravel()]
    return da.stack(parts).sum(axis=0).compute(), lo


def percentiles_chunked(data: da.Array, q: Sequence[float] = (1.0, 99.8)) -> tuple[float, ...]:
    """Exact linear percentiles of a dask array, equal to ``np.percentile``.

    Parameters
    ----------
    data : dask.array.Array
        Real-valued image.
    q : sequence of float, optional
        Percentiles in % (0-100), e.g. ``(pmin, pmax)``.

    Returns
    -------
    tuple of float
        One value per entry of ``q`` (e.g. ``(low, high)``).

    Notes
    -----
    Integer and bool images never leave the chunks: each chunk's
    ``np.bincount`` histogram (offset by the dtype minimum, or by the image
    minimum for 32/64-bit integers) is summed with a dask reduction and the
    order statistics are read from the cumulative counts, then interpolated
    with numpy's own arithmetic, so results equal ``np.percentile``
    bit for bit. Floating-point images (and integers spanning more than
    2**24 values) have no exact chunk-wise algorithm here (``da.percentile``
    is approximate): they are loaded, chunk by chunk, into one in-memory
    array (its own size, no float64 copy) and NaNs are ignored, as
    :func:`bioimg.preprocess.normalize_percentile` does.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = np.arange(1000, dtype=np.uint16)
    >>> percentiles_chunked(da.from_array(x, chunks=100), (1, 99.8)) == (
    ...     float(np.percentile(x, 1)), float(np.percentile(x, 99.8)))
    True
    """
    data = data if isinstance(data, da.Array) else da.asarray(data)
    q = [float(p) for p in q]
    if not all(0 <= p <= 100 for p in q):
        raise ValueError(f"percentiles must lie in [0, 100], got {q}")
    if data.dtype.kind not in "biuf":
        raise ValueError(f"percentiles need a real-valued image, got dtype {data.dtype}")
    if data.size == 0:
        raise ValueError("cannot compute percentiles of an empty image")
    hist = _histogram(data) if data.dtype.kind in "biu" else None
    if hist is None:
        return tuple(percentiles(data.compute(), q))
    counts, lo = hist
    cum = np.cumsum(counts)
    res = []
    for prev, nxt, gamma in _ranks(int(data.size), q):
        a, b = (int(v) + lo for v in np.searchsorted(cum, [prev, nxt], side="right"))
        res.append(float(_lerp(a, b, gamma)))
    return tuple(res)


def normalize_percentile_chunked(data: da.Array, pmin: float = 1.0, pmax: float = 99.8,
                                 clip: bool = False, eps: float = 1e-20) -> tuple[da.Array, dict]:
    """Chunk-wise :func:`~bioimg.preprocess.normalize_percentile` (one channel).

    The percentiles are computed now (:func:`percentiles_chunked`); the
    normalised image is lazy.

    Parameters
    ----------
    data : dask.array.Array
        Real-valued image.
    pmin, pmax, clip, eps
        As :func:`bioimg.preprocess.normalize_percentile`.

    Returns
    -------
    normalized : dask.array.Array of float32
        Equal, once computed, to ``normalize_percentile(data)[0]``.
    params : dict
        The same dict as ``normalize_percentile`` returns (``axis`` None),
        for :func:`bioimg.preprocess.apply_normalization`.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> out, params = normalize_percentile_chunked(da.arange(101, chunks=10, dtype=np.uint8), 1, 99)
    >>> params["low"], params["high"]
    ([1.0], [99.0])
    """
    if not 0 <= pmin <= pmax <= 100:
        raise ValueError(f"need 0 <= pmin <= pmax <= 100, got pmin={pmin}, pmax={pmax}")
    data = data if isinstance(data, da.Array) else da.asarray(data)
    low, high = percentiles_chunked(data, (pmin, pmax))
    params = {"method": "percentile", "pmin": float(pmin), "pmax": float(pmax),
              "low": [low], "high": [high], "axis": None, "clip": bool(clip), "eps": float(eps)}
    out = data.map_blocks(apply_normalization, params, dtype=np.float32,
                          meta=np.empty((0,) * data.ndim, np.float32))
    return out, params
