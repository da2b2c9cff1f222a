"""Preprocessing: edge-preserving smoothing, normalisation, resampling, thresholds.

Array in, array out (scikit-image style): every function takes numpy arrays
and keyword arguments with sensible defaults, returns float32 images by
default, and never modifies its input. Normalisers also return the
parameters they used, so a trained model can repeat them
(:func:`apply_normalization`).
"""
from ._diffusion import anisotropic_diffusion, stability_limit
from ._normalize import (apply_normalization, normalize, normalize_minmax, normalize_percentile,
                         normalize_zscore)
from ._pipeline import preprocess_image
from ._resample import rescale_to_isotropic
from ._sobel import corr2d, sobel
from ._threshold import threshold, threshold_value

__all__ = [
    "anisotropic_diffusion", "stability_limit",
    "normalize", "normalize_percentile", "normalize_zscore", "normalize_minmax",
    "apply_normalization", "rescale_to_isotropic", "threshold", "threshold_value",
    "preprocess_image", "sobel", "corr2d",
]
