"""Classification metrics: accuracy, confusion matrix, per-class report.

Argument order follows scikit-learn, ``(y_true, y_pred)``, because that is
what classification users expect; the segmentation metrics take
``(pred, gt)`` like the ``bioimg evaluate PRED GT`` command.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["accuracy", "confusion_matrix", "per_class_report"]

# A K x K int64 matrix; beyond this the caller almost certainly passed
# instance labels (ids up to 65535) where class labels were expected.
_MAX_CLASSES = 4096


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Returns NaN for empty input.

    Examples
    --------
    >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
    0.75
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred shapes {t.shape} and {p.shape} differ")
    return float(np.mean(t == p)) if t.size else float("nan")


def _class_ids(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool or a.size == 0:  # [] arrives as float64
        a = a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got dtype {a.dtype}")
    a = a.ravel()
    if a.size and a.min() < 0:
        raise ValueError(f"{name} must hold non-negative class ids, found {a.min()}")
    return a


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix ``cm[i, j]`` = number of samples of class ``i`` predicted ``j``.

    Parameters
    ----------
    y_true, y_pred : array_like of int
        Class ids ``>= 0``, same shape (any number of dimensions).
    num_classes : int, optional
        Matrix size ``K``; default ``max(y_true.max(), y_pred.max()) + 1``.

    Returns
    -------
    ndarray of int64, shape (K, K)

    Raises
    ------
    ValueError
        On shape mismatch, negative ids, or ids ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])
    """
    t, p = _class_ids(y_true, "y_true"), _class_ids(y_pred, "y_pred")
    if np.shape(y_true) != np.shape(y_pred):
        raise ValueError(f"y_true and y_pred shapes {np.shape(y_true)} and {np.shape(y_pred)} differ")
    top = max(int(t.max()) if t.size else -1, int(p.max()) if p.size else -1)
    if num_classes is None:
        num_classes = top + 1
    elif top >= num_classes:
        raise ValueError(f"class id {top} out of range for num_classes={num_classes}")
    k = int(num_classes)
    if k > _MAX_CLASSES:
        raise ValueError(f"{k} classes is too many for a confusion matrix; "
                         "instance labels must be evaluated with match_instances")
    # One bincount over the joint index is ~20x faster than np.add.at.
    joint = t.astype(np.int64) * k + p.astype(np.int64)
    return np.bincount(joint, minlength=k * k).reshape(k, k).astype(np.int64)


def _safe(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def per_class_report(y_true, y_pred, num_classes: int | None = None,
                     class_names: Sequence[str] | None = None) -> list[dict]:
    """Precision, recall, F1 and support of every class, as table rows.

    Parameters
    ----------
    y_true, y_pred : array_like of int
        Class ids, same shape.
    num_classes : int, optional
        Default: ``len(class_names)`` if given, else from the data.
    class_names : sequence of str, optional
        Adds a ``"name"`` column.

    Returns
    -------
    list of dict
        One row per class with keys ``class``, (``name``), ``precision``,
        ``recall``, ``f1``, ``support`` (number of true samples). A class
        absent from both ``y_true`` and ``y_pred`` gets NaN scores; a zero
        denominator otherwise gives 0.0 (scikit-learn's ``zero_division=0``).
        The macro average is the ``nanmean`` of a column.

    Examples
    --------
    >>> rows = per_class_report([0, 1, 1], [0, 1, 0], class_names=["bg", "cell"])
    >>> rows[1]["name"], rows[1]["recall"], rows[1]["support"]
    ('cell', 0.5, 2)
    """
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    cm = confusion_matrix(y_true, y_pred, num_classes)
    if class_names is not None and len(class_names) != cm.shape[0]:
        raise ValueError(f"{len(class_names)} class names for {cm.shape[0]} classes")
    rows = []
    for k in range(cm.shape[0]):
        tp = int(cm[k, k])
        support, predicted = int(cm[k].sum()), int(cm[:, k].sum())
        row: dict = {"class": k}
        if class_names is not None:
            row["name"] = str(class_names[k])
        if support == 0 and predicted == 0:
            prec = rec = f1 = float("nan")
        else:
            prec, rec = _safe(tp, predicted), _safe(tp, support)
            f1 = _safe(2 * prec * rec, prec + rec)
        row.update(precision=prec, recall=rec, f1=f1, support=support)
        rows.append(row)
    return rows
