"""Evaluate widget: predicted Labels vs ground-truth Labels -> a table of metrics (as ``bioimg evaluate``)."""
from __future__ import annotations

import math

import numpy as np
from magicgui.widgets import ComboBox, LineEdit
from napari.layers import Labels as LabelsLayer
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from .._layers import layer_to_image
from ._base import BioimgWidget, InputError

MODES = ("instance matching", "per-class IoU / Dice")
INSTANCE_COLUMNS = ("thresh", "tp", "fp", "fn", "precision", "recall", "f1", "accuracy", "mean_matched_iou",
                    "panoptic_quality")


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``"0.5 0.7"`` or ``"0.5, 0.7"`` -> (0.5, 0.7), each in [0, 1]."""
    try:
        values = tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise InputError(f"IoU thresholds must be numbers like 0.5 0.7, got {text!r}") from None
    if not values:
        raise InputError("give at least one IoU threshold, e.g. 0.5")
    bad = [t for t in values if not 0.0 <= t <= 1.0]
    if bad:
        raise InputError(f"IoU thresholds must be in [0, 1], got {bad[0]}")
    return values


def evaluate_labels(pred: np.ndarray, gt: np.ndarray, mode: str, thresholds: tuple) -> list[dict]:
    """Rows of metrics: ``match_instances_at`` per threshold, or IoU/Dice per class (plus the mean)."""
    from bioimg import metrics

    if mode == MODES[0]:
        return [{k: m[k] for k in INSTANCE_COLUMNS if k in m} for m in metrics.match_instances_at(pred, gt, thresholds)]
    iou, dice = metrics.iou_per_class(pred, gt), metrics.dice_per_class(pred, gt)
    rows = [{"class": str(k), "iou": v, "dice": dice[k]} for k, v in iou.items()]
    rows.append({"class": "mean", "iou": metrics.mean_iou(pred, gt), "dice": metrics.mean_dice(pred, gt)})
    return rows


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if not math.isfinite(value) else f"{value:.4f}"
    return str(value)


class EvaluateWidget(BioimgWidget):
    """Score a predicted Labels layer against a ground-truth Labels layer.

    Instance matching (precision, recall, F1, accuracy, mean matched IoU,
    panoptic quality at each IoU threshold; defaults 0.5 and 0.7 as the
    CLI) or per-class IoU and Dice.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "evaluate"
    run_text = "Evaluate"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.pred = self.layer_combo(LabelsLayer, "prediction")
        self.gt = self.layer_combo(LabelsLayer, "ground truth")
        self.mode = ComboBox(choices=MODES, value=MODES[0], label="metrics")
        self.thresholds = LineEdit(value="0.5 0.7", label="IoU thresholds")
        self.form.extend([self.pred, self.gt, self.mode, self.thresholds])
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(160)
        self.extra.addWidget(self.table)
        self.rows: list[dict] = []

    def run(self) -> None:
        """Check the layers and compute the metrics in a worker."""
        pred_layer = self.require(self.pred, "the predicted Labels layer")
        gt_layer = self.require(self.gt, "the ground-truth Labels layer")
        if pred_layer is gt_layer:
            raise InputError("prediction and ground truth are the same layer: choose two different layers")
        pred = np.asarray(layer_to_image(pred_layer, self.viewer).data)
        gt = np.asarray(layer_to_image(gt_layer, self.viewer).data)
        if np.squeeze(pred).shape != np.squeeze(gt).shape:
            raise InputError(f"shapes differ: '{pred_layer.name}' {pred.shape} vs '{gt_layer.name}' {gt.shape}")
        thresholds = parse_thresholds(self.thresholds.value) if self.mode.value == MODES[0] else ()
        self.start(evaluate_labels, np.squeeze(pred), np.squeeze(gt), self.mode.value, thresholds,
                   returned=lambda rows: self.show(rows, pred_layer.name, gt_layer.name))

    def show(self, rows: list[dict], pred_name: str, gt_name: str) -> None:
        """Fill the table: one column per IoU threshold (instances) or one row per class (semantic)."""
        self.rows = rows
        keys = list(dict.fromkeys(k for row in rows for k in row))
        if rows and "thresh" in keys:  # metrics down, thresholds across: fits a narrow dock
            header = [f"IoU {row['thresh']:.2f}" for row in rows]
            names = [k for k in keys if k != "thresh"]
            cells = [[row.get(k, "") for row in rows] for k in names]
        else:
            header, names = keys, [str(i + 1) for i in range(len(rows))]
            cells = [[row.get(k, "") for k in keys] for row in rows]
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setRowCount(len(cells))
        self.table.setHorizontalHeaderLabels([h.replace("_", " ") for h in header])
        self.table.setVerticalHeaderLabels([n.replace("_", " ") for n in names])
        for r, line in enumerate(cells):
            for c, value in enumerate(line):
                self.table.setItem(r, c, QTableWidgetItem(_cell(value)))
        self.table.resizeColumnsToContents()
        self.done(f"'{pred_name}' vs '{gt_name}'")
