"""Evaluation metrics for segmentation, classification and denoising.

- Semantic segmentation: :func:`iou_per_class`, :func:`dice_per_class`,
  :func:`mean_iou`, :func:`mean_dice` (classes absent from both images are
  NaN), and the confusion matrix behind them for pooling over a data set.
- Instance segmentation: :func:`match_instances` (StarDist / DSB2018
  semantics), :func:`match_instances_at` (IoU computed once for many
  thresholds), :func:`average_precision`, :func:`aggregate_matches`.
- Classification: :func:`accuracy`, :func:`confusion_matrix`,
  :func:`per_class_report` (``(y_true, y_pred)`` order, as scikit-learn).
- Denoising: :func:`psnr`, :func:`ssim`.
- Label kinds: :func:`label_kind` (classes or instances), :func:`foreground`,
  :func:`as_instances` and :func:`foreground_overlap` compare a class mask
  with instance labels sensibly (binarized) instead of id by id.
- :func:`format_table` renders rows of metrics for the command line.

Segmentation functions take ``(pred, gt)``, like ``bioimg evaluate PRED GT``.

Examples
--------
>>> import numpy as np
>>> from bioimg.metrics import match_instances
>>> gt = np.zeros((8, 8), np.uint16); gt[:4, :4] = 1
>>> match_instances(gt, gt)["f1"]
1.0
"""
from bioimg.metrics._classification import accuracy, confusion_matrix, per_class_report
from bioimg.metrics._denoise import psnr, ssim
from bioimg.metrics._instance import (
    DSB_THRESHOLDS,
    aggregate_matches,
    average_precision,
    match_instances,
    match_instances_at,
)
from bioimg.metrics._kinds import as_instances, foreground, foreground_overlap, label_kind
from bioimg.metrics._semantic import (
    dice_from_confusion,
    dice_per_class,
    iou_from_confusion,
    iou_per_class,
    mean_dice,
    mean_iou,
    segmentation_confusion_matrix,
)
from bioimg.metrics._table import format_table

__all__ = [
    "DSB_THRESHOLDS",
    "accuracy",
    "aggregate_matches",
    "as_instances",
    "average_precision",
    "confusion_matrix",
    "dice_from_confusion",
    "dice_per_class",
    "foreground",
    "foreground_overlap",
    "format_table",
    "iou_from_confusion",
    "iou_per_class",
    "label_kind",
    "match_instances",
    "match_instances_at",
    "mean_dice",
    "mean_iou",
    "per_class_report",
    "psnr",
    "segmentation_confusion_matrix",
    "ssim",
]
