"""What a label image holds (classes or instances), and how to compare one kind with the other.

Scoring a class mask (values 1..K, each class spread over many blobs) by
instance matching against instance ground truth (one id per object) counts
every class as one giant object: TP 0, FP 2, FN 73. Per-class IoU over
instance ids gives one row per object. The sensible comparison binarizes:
foreground vs background, and the connected components of a class mask's
foreground as its objects.
"""
from __future__ import annotations

import numpy as np

from bioimg.metrics._semantic import as_label_array

__all__ = ["label_kind", "foreground", "as_instances", "foreground_overlap", "single_object_fraction"]


def label_kind(labels, max_classes: int = 16) -> str:
    """Guess whether a label image holds class ids or instance ids.

    Parameters
    ----------
    labels : array_like of int
        A label image (0 = background or unlabelled).
    max_classes : int
        More distinct non-zero values than this means instances.

    Returns
    -------
    str
        ``"empty"`` (no non-zero value), ``"instances"`` (many ids, or
        each id one connected object) or ``"classes"`` (few values and a
        value spread over several objects, or no background 0 at all).

    Examples
    --------
    >>> import numpy as np
    >>> two_blobs = np.zeros((6, 6), int); two_blobs[0, 0] = two_blobs[5, 5] = 1
    >>> label_kind(two_blobs), label_kind(two_blobs * np.arange(36).reshape(6, 6))
    ('classes', 'instances')
    """
    a = as_label_array(labels)
    values = np.unique(a)
    nonzero = values[values != 0]
    if nonzero.size == 0:
        return "empty"
    if nonzero.size > max_classes:
        return "instances"
    if values[0] != 0:  # every pixel has a class: a dense class map (e.g. 1 = painted background)
        return "classes"
    return "instances" if single_object_fraction([a], nonzero) == 1.0 else "classes"


def single_object_fraction(labels_list, values: np.ndarray) -> float:
    """Fraction of (image, id) pairs whose pixels form one connected object (8/26-connected).

    Instance masks score ~1 (an id is an object), class masks ~0 (a class
    spreads over many objects): what tells the two apart when ids are few.

    Parameters
    ----------
    labels_list : list of array of int
        Label images.
    values : ndarray
        The sorted non-zero ids to look at (all ids of the images).
    """
    from scipy import ndimage as ndi

    single = total = 0
    for lab in labels_list:
        compact = np.searchsorted(values, lab) + 1  # ids -> 1..n: find_objects needs small ids
        compact[lab == 0] = 0
        structure = np.ones((3,) * lab.ndim)
        for i, sl in enumerate(ndi.find_objects(compact)):
            if sl is None:
                continue
            single += ndi.label(compact[sl] == i + 1, structure=structure)[1] == 1
            total += 1
    return single / total if total else 0.0


def foreground(labels) -> tuple[np.ndarray, int]:
    """The foreground mask of a label image and the value taken as background.

    The background is 0 when the image has zeros; a class map without zeros
    (every pixel classified, as after training on painted background) takes
    its most frequent value as background.

    Returns
    -------
    mask : ndarray of bool
    background : int
    """
    a = as_label_array(labels)
    if a.size == 0 or (a == 0).any():
        return a != 0, 0
    values, counts = np.unique(a, return_counts=True)
    background = int(values[np.argmax(counts)])
    return a != background, background


def as_instances(labels) -> np.ndarray:
    """Instance ids of a label image: itself if it holds instances, else its foreground's connected components."""
    from scipy import ndimage as ndi

    a = as_label_array(labels)
    if label_kind(a) != "classes":
        return a
    mask, _ = foreground(a)
    structure = ndi.generate_binary_structure(a.ndim, a.ndim)
    return ndi.label(mask, structure=structure)[0].astype(np.int32)


def foreground_overlap(pred, gt) -> dict:
    """IoU and Dice of the foregrounds of two label images (see :func:`foreground`).

    Returns
    -------
    dict
        ``iou``, ``dice`` (NaN when both foregrounds are empty) and the
        ``pred_background`` / ``gt_background`` values used.
    """
    p, pb = foreground(pred)
    g, gb = foreground(gt)
    if p.shape != g.shape:
        raise ValueError(f"shapes differ: pred {p.shape} vs gt {g.shape}")
    inter, union, total = int((p & g).sum()), int((p | g).sum()), int(p.sum() + g.sum())
    nan = float("nan")
    return {"iou": inter / union if union else nan, "dice": 2 * inter / total if total else nan,
            "pred_background": pb, "gt_background": gb}
