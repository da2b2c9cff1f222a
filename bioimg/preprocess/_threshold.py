"""Global threshold masks, by method name (scikit-image algorithms)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from skimage import filters

_METHODS = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "yen": filters.threshold_yen,
    "triangle": filters.threshold_triangle,
    "mean": filters.threshold_mean,
}


def threshold_value(image: ArrayLike, method: str = "otsu") -> float:
    """The global threshold that ``method`` picks for ``image`` (NaNs ignored).

    Examples
    --------
    >>> import numpy as np
    >>> threshold_value(np.array([0, 0, 0, 10, 10, 10], dtype=np.uint8), "mean")
    5.0
    """
    try:
        func = _METHODS[method]
    except KeyError:
        raise ValueError(f"unknown threshold method {method!r}; choose one of "
                         f"{sorted(_METHODS)}") from None
    arr = np.asarray(image)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"cannot threshold an image of dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError("cannot threshold an empty (or all-NaN) image")
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    if arr.min() == arr.max():  # skimage raises or warns on a constant image
        return float(arr.min())
    return float(func(arr))


def threshold(image: ArrayLike, method: str = "otsu") -> np.ndarray:
    """Foreground mask ``image > t`` with ``t`` from ``method``.

    Parameters
    ----------
    image : array_like
        Real-valued image, any dimension.
    method : {"otsu", "li", "yen", "triangle", "mean"}, optional
        ``skimage.filters.threshold_<method>``, computed on the whole image.

    Returns
    -------
    ndarray of bool
        Same shape as ``image``. A constant image gives an empty mask.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[1, 2, 9], [1, 8, 9]], dtype=np.uint8)
    >>> threshold(img, "otsu").astype(int).tolist()
    [[0, 0, 1], [0, 1, 1]]
    """
    arr = np.asarray(image)
    return arr > threshold_value(arr, method)
