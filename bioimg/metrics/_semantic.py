"""Per-class overlap scores (IoU, Dice) for semantic label images.

Everything is derived from one confusion matrix built with a single
``np.bincount`` over the joint index ``gt * K + pred``, so any number of
classes costs one pass over the pixels.
"""
from __future__ import annotations

import numpy as np

from bioimg.metrics._classification import confusion_matrix

__all__ = [
    "as_label_array",
    "segmentation_confusion_matrix",
    "iou_from_confusion",
    "dice_from_confusion",
    "iou_per_class",
    "dice_per_class",
    "mean_iou",
    "mean_dice",
]


def as_label_array(x, name: str = "labels") -> np.ndarray:
    """Return ``x`` as an integer array, refusing values that are not labels.

    Booleans and integers pass through; floats are accepted only when every
    value is a whole number (some tools save label images as float32).

    Raises
    ------
    ValueError
        If ``x`` holds non-integral or non-finite values or is not numeric.
    """
    a = np.asarray(x)
    if a.dtype == bool:
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        return a
    if np.issubdtype(a.dtype, np.floating):
        if a.size and not (np.all(np.isfinite(a)) and np.array_equal(a, np.round(a))):
            raise ValueError(f"{name} must hold integer labels, got non-integral {a.dtype} values")
        return a.astype(np.int64)
    raise ValueError(f"{name} must be an integer label array, got dtype {a.dtype}")


def segmentation_confusion_matrix(pred, gt, num_classes: int | None = None,
                                  ignore_index: int | None = None) -> np.ndarray:
    """Pixel confusion matrix of two semantic label images.

    Parameters
    ----------
    pred, gt : array_like of int
        Predicted and ground-truth class labels, same shape (2D, 3D, ...).
    num_classes : int, optional
        Number of classes ``K``; default ``max(pred.max(), gt.max()) + 1``.
    ignore_index : int, optional
        Pixels whose *ground truth* equals this value are left out (the
        usual "unlabelled"/"void" convention; ``pred`` is not masked).

    Returns
    -------
    ndarray of int64, shape (K, K)
        ``cm[i, j]`` counts pixels of true class ``i`` predicted as ``j``.

    Examples
    --------
    >>> segmentation_confusion_matrix([[0, 1], [1, 1]], [[0, 1], [0, 1]])
    array([[1, 1],
           [0, 2]])
    """
    p = as_label_array(pred, "pred")
    g = as_label_array(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt shapes {p.shape} and {g.shape} differ")
    p, g = p.ravel(), g.ravel()
    if ignore_index is not None:
        keep = g != ignore_index
        if not keep.all():
            p, g = p[keep], g[keep]
    return confusion_matrix(g, p, num_classes=num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # Classes absent from both images have 0/0: NaN by definition, computed
    # without a warning so callers can nanmean over the present classes.
    out = np.full(num.shape, np.nan, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` from a confusion matrix (NaN if absent)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    return _ratio(tp, cm.sum(0) + cm.sum(1) - tp)


def dice_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class Dice ``2 TP / (2 TP + FP + FN)`` from a confusion matrix (NaN if absent)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    return _ratio(2 * tp, cm.sum(0) + cm.sum(1))


def _per_class(scores: np.ndarray, ignore_index: int | None) -> dict[int, float]:
    return {int(k): float(v) for k, v in enumerate(scores) if k != ignore_index}


def iou_per_class(pred, gt, num_classes: int | None = None,
                  ignore_index: int | None = None) -> dict[int, float]:
    """Intersection over union of each class.

    Parameters
    ----------
    pred, gt : array_like of int
        Predicted and ground-truth class labels, same shape, any integer dtype.
    num_classes : int, optional
        Report classes ``0 .. num_classes - 1``; default from the data.
    ignore_index : int, optional
        Ground-truth value to leave out (pixels and class).

    Returns
    -------
    dict[int, float]
        Class -> IoU. A class absent from both images has no defined IoU and
        maps to NaN (never a ZeroDivisionError); a class present in only one
        image scores 0.

    Examples
    --------
    >>> gt = np.array([[0, 0, 1, 1]])
    >>> pred = np.array([[0, 1, 1, 1]])
    >>> iou_per_class(pred, gt)
    {0: 0.5, 1: 0.6666666666666666}
    """
    cm = segmentation_confusion_matrix(pred, gt, num_classes, ignore_index)
    return _per_class(iou_from_confusion(cm), ignore_index)


def dice_per_class(pred, gt, num_classes: int | None = None,
                   ignore_index: int | None = None) -> dict[int, float]:
    """Dice coefficient (F1 of pixels) of each class; see :func:`iou_per_class`.

    Examples
    --------
    >>> gt = np.array([[0, 0, 1, 1]])
    >>> pred = np.array([[0, 1, 1, 1]])
    >>> dice_per_class(pred, gt)
    {0: 0.6666666666666666, 1: 0.8}
    """
    cm = segmentation_confusion_matrix(pred, gt, num_classes, ignore_index)
    return _per_class(dice_from_confusion(cm), ignore_index)


def _nanmean(values) -> float:
    v = np.asarray(list(values), dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def mean_iou(pred, gt, num_classes: int | None = None, ignore_index: int | None = None) -> float:
    """Mean IoU over the classes present in ``pred`` or ``gt`` (NaN if none).

    Examples
    --------
    >>> round(mean_iou([[0, 1, 1, 1]], [[0, 0, 1, 1]]), 4)
    0.5833
    """
    return _nanmean(iou_per_class(pred, gt, num_classes, ignore_index).values())


def mean_dice(pred, gt, num_classes: int | None = None, ignore_index: int | None = None) -> float:
    """Mean Dice over the classes present in ``pred`` or ``gt`` (NaN if none).

    Examples
    --------
    >>> round(mean_dice([[0, 1, 1, 1]], [[0, 0, 1, 1]]), 4)
    0.7333
    """
    return _nanmean(dice_per_class(pred, gt, num_classes, ignore_index).values())
