"""The preprocessing pipeline shared by ``bioimg preprocess`` and the napari widget."""
from __future__ import annotations

import numpy as np

from ._diffusion import anisotropic_diffusion
from ._normalize import normalize
from ._resample import rescale_to_isotropic

_SPATIAL = "ZYX"


def preprocess_image(image, *, isotropic: bool = False, diffusion: dict | None = None,
                     normalization: dict | None = None, progress=None, cancel=None):
    """Resample, diffuse and normalize a ``bioimg.io.Image``, in that order.

    Parameters
    ----------
    image : bioimg.io.Image
    isotropic : bool
        ``rescale_to_isotropic(order=1)`` first (cubic voxels of the finest spacing).
    diffusion : dict or None
        ``anisotropic_diffusion`` options (``niter``, ``kappa``, ``gamma``,
        ``option``) plus ``use_spacing`` (default True: the voxel spacing
        relative to the finest axis, so kappa and gamma keep their per-pixel
        meaning); each channel and time point is diffused alone. None skips.
    normalization : dict or None
        ``method`` ("percentile", "zscore", "minmax") and its options
        (``pmin``, ``pmax``, ``clip``); per channel. None skips.
    progress, cancel : callable, optional
        Passed to the diffusion (``progress(i, niter)``, ``cancel() -> bool``).

    Returns
    -------
    result : bioimg.io.Image
        The processed image (float32 when any step ran), spacing updated and
        the normalization parameters in ``metadata["normalization"]``.
    params : dict or None
        The normalization parameters used.

    Examples
    --------
    >>> import numpy as np
    >>> from bioimg.io import Image
    >>> img = Image(np.arange(16, dtype=np.uint8).reshape(4, 4), "YX", (1.0, 1.0))
    >>> out, params = preprocess_image(img, normalization={"method": "minmax"})
    >>> float(out.data.max()), params["method"]
    (1.0, 'minmax')
    """
    if image.data.dtype.kind not in "biuf":
        raise ValueError(f"cannot preprocess data of dtype {image.data.dtype}")
    order = [a for a in image.axes if a not in _SPATIAL] + [a for a in image.axes if a in _SPATIAL]
    data = np.transpose(np.asarray(image.data), [image.axes.index(a) for a in order])
    lead = len(order) - image.ndim_spatial
    spacing = tuple(float(s) for s in image.spacing)
    meta = dict(image.metadata)
    if isotropic:
        old = spacing
        data, spacing = rescale_to_isotropic(data, spacing, order=1)
        _resampled_geometry(meta, old, spacing)
    if diffusion is not None:
        opts = dict(diffusion)
        rel = tuple(s / min(spacing) for s in spacing) if opts.pop("use_spacing", True) else None
        data = anisotropic_diffusion(data, spacing=rel, axis=tuple(range(lead)) or None,
                                     progress=progress, cancel=cancel, **opts)
    params = None
    if normalization is not None and normalization.get("method", "none") != "none":
        opts = dict(normalization)
        data, params = normalize(data, opts.pop("method"), axis=order.index("C") if "C" in order else None,
                                 **opts)
    out = np.ascontiguousarray(np.transpose(np.asarray(data), [order.index(a) for a in image.axes]))
    if params is not None:
        meta["normalization"] = params
    return image.with_data(out, spacing=tuple(float(s) for s in spacing), metadata=meta), params


def _resampled_geometry(meta: dict, old: tuple, new: tuple) -> None:
    """Update a NIfTI/DICOM ``affine`` (voxel (x, y, z) -> world) in ``meta`` for a resampling.

    ``rescale_to_isotropic`` keeps the field of view (the outer corner of the
    first voxel), so each column is scaled by new/old spacing and the origin,
    the first voxel's centre, moves by half the change.
    """
    try:
        affine = np.array(meta["affine"], dtype=float)
    except (KeyError, TypeError, ValueError):
        return
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        return
    factors = [n / o for o, n in zip(old[::-1], new[::-1])][:3]  # (x, y, z) order
    for i, f in enumerate(factors):
        col = affine[:3, i].copy()
        affine[:3, i] = col * f
        affine[:3, 3] += 0.5 * (affine[:3, i] - col)
    meta["affine"] = affine.tolist()
    zooms = meta.get("nifti_zooms")
    if isinstance(zooms, (list, tuple)) and len(zooms) >= len(factors):
        meta["nifti_zooms"] = [float(z) * f for z, f in zip(zooms, factors)] + list(zooms[len(factors):])
