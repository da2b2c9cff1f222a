"""Image-quality metrics for denoising and restoration: PSNR and SSIM.

Thin wrappers around :mod:`skimage.metrics` with one difference in defaults:
when ``data_range`` is not given it is the value range of the *reference*
(``max - min``), not of its dtype. Microscopy data are often 12-bit in a
uint16 container, where a dtype range of 65535 would inflate PSNR by ~24 dB.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

__all__ = ["psnr", "ssim"]


def _prepare(reference, image, data_range: float | None) -> tuple[np.ndarray, np.ndarray, float | None]:
    ref = np.asarray(reference, dtype=np.float64)
    img = np.asarray(image, dtype=np.float64)
    if ref.shape != img.shape:
        raise ValueError(f"reference and image shapes {ref.shape} and {img.shape} differ")
    if ref.size == 0:
        raise ValueError("cannot compare empty images")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(img))):
        raise ValueError("images contain NaN or infinite values")
    if data_range is None:
        span = float(ref.max() - ref.min())
        # None tells the caller the range is undefined (constant reference).
        return ref, img, span if span > 0 else None
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    return ref, img, float(data_range)


def psnr(reference, image, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range**2 / MSE)``.

    Parameters
    ----------
    reference, image : array_like
        Clean reference and restored image, same shape, any dimension and
        numeric dtype (computed in float64).
    data_range : float, optional
        Peak-to-peak value range; default ``reference.max() - reference.min()``.

    Returns
    -------
    float
        ``inf`` for identical images.

    Raises
    ------
    ValueError
        Shape mismatch, empty or non-finite input, or a constant reference
        without an explicit ``data_range``.

    Examples
    --------
    >>> ref = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> round(psnr(ref, ref + 0.1), 2)
    20.0
    """
    ref, img, rng = _prepare(reference, image, data_range)
    if np.array_equal(ref, img):
        return float("inf")  # MSE = 0; skimage would warn on log10(x / 0)
    if rng is None:
        raise ValueError("reference image is constant; pass data_range explicitly")
    return float(peak_signal_noise_ratio(ref, img, data_range=rng))


def ssim(reference, image, data_range: float | None = None, win_size: int | None = None,
         channel_axis: int | None = None) -> float:
    """Mean structural similarity index (Wang et al. 2004) in 2D or 3D.

    Parameters
    ----------
    reference, image : array_like
        Same shape; 2D images or 3D stacks (computed in float64).
    data_range : float, optional
        Default ``reference.max() - reference.min()``.
    win_size : int, optional
        Odd side of the sliding window; default 7 (skimage), shrunk to the
        largest odd size that fits when an axis is shorter (e.g. a stack of
        five slices), at least 3.
    channel_axis : int, optional
        Axis of colour channels, averaged over (skimage semantics).

    Returns
    -------
    float
        1.0 for identical images.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.random((16, 16))
    >>> ssim(ref, ref)
    1.0
    >>> ssim(ref, ref + rng.normal(0, 1.0, ref.shape)) < 0.5
    True
    """
    ref, img, rng = _prepare(reference, image, data_range)
    if np.array_equal(ref, img):
        return 1.0
    if rng is None:
        raise ValueError("reference image is constant; pass data_range explicitly")
    spatial = [n for ax, n in enumerate(ref.shape)
               if channel_axis is None or ax != channel_axis % ref.ndim]
    if win_size is None:
        win_size = min(7, min(spatial))
        win_size -= 1 - win_size % 2  # largest odd size that fits
        if win_size < 3:
            raise ValueError(f"image of shape {ref.shape} is too small for SSIM (needs >= 3 per axis)")
    return float(structural_similarity(ref, img, data_range=rng, win_size=win_size,
                                       channel_axis=channel_axis))
