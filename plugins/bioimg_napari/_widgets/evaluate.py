"""Evaluate widget: predicted Labels vs ground-truth Labels -> a metric summary and table (as ``bioimg evaluate``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from magicgui.widgets import ComboBox, LineEdit
from napari.layers import Labels as LabelsLayer
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from .._layers import layer_to_image
from .._notify import show_warning
from .._session import real_viewer
from ._base import BioimgWidget, InputError
from .predict import is_prediction

MODES = ("instance matching", "per-class IoU / Dice")
INSTANCE_COLUMNS = ("thresh", "tp", "fp", "fn", "precision", "recall", "f1", "accuracy", "mean_matched_iou",
                    "panoptic_quality")


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``"0.5 0.7"`` or ``"0.5, 0.7"`` -> (0.5, 0.7), each in [0, 1]."""
    try:
        values = tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise InputError(f"IoU thresholds must be numbers like 0.5 0.7, not {text!r}") from None
    if not values:
        raise InputError("give at least one IoU threshold, e.g. 0.5")
    bad = [t for t in values if not 0.0 <= t <= 1.0]
    if bad:
        raise InputError(f"IoU thresholds must be in [0, 1], not {bad[0]}")
    return values


@dataclass
class Evaluation:
    """What :func:`evaluate_labels` found: table rows, a one-line summary and a note on what was compared."""

    rows: list = field(default_factory=list)
    summary: str = ""
    note: str = ""


def _describe(kind: str, labels: np.ndarray) -> str:
    n = int(np.unique(labels[labels != 0]).size)
    return f"{n} object{'s' if n != 1 else ''}" if kind == "instances" else f"{n} class{'es' if n != 1 else ''}"


def evaluate_labels(pred: np.ndarray, gt: np.ndarray, mode: str, thresholds: tuple,
                    names: tuple = ("prediction", "ground truth")) -> Evaluation:
    """Score ``pred`` against ``gt``; classes and instances are never compared id by id.

    Instance matching treats a class mask's foreground's connected
    components as its objects; per-class IoU/Dice of anything holding
    instances compares foreground vs background. ``note`` says when that
    happened.
    """
    from bioimg import metrics

    kinds = metrics.label_kind(pred), metrics.label_kind(gt)
    overlap = metrics.foreground_overlap(pred, gt)
    fg = f"foreground IoU {overlap['iou']:.2f}"
    note = ""
    if mode == MODES[0]:
        p, g = metrics.as_instances(pred), metrics.as_instances(gt)
        backgrounds = (overlap["pred_background"], overlap["gt_background"])
        changed = [f"'{n}' holds {_describe(k, a)}" + (f" (background = {b})" if b else "")
                   for n, k, a, b in zip(names, kinds, (pred, gt), backgrounds) if k == "classes"]
        if changed:
            note = " and ".join(changed) + ": its connected foreground regions were matched as objects"
        matches = metrics.match_instances_at(p, g, thresholds)
        rows = [{k: m[k] for k in INSTANCE_COLUMNS if k in m} for m in matches]
        summary = " · ".join([f"F1@{m['thresh']:g} {m['f1']:.2f}" for m in matches] + [fg])
        return Evaluation(rows, summary, note)
    if "instances" in kinds:  # ids of objects are not classes: compare foreground with background
        held = [f"'{n}' holds {_describe(k, a)}" for n, k, a in zip(names, kinds, (pred, gt)) if k == "instances"]
        note = " and ".join(held) + ": compared foreground vs background instead of id by id"
        pred, gt = metrics.foreground(pred)[0].astype(np.uint8), metrics.foreground(gt)[0].astype(np.uint8)
    iou, dice = metrics.iou_per_class(pred, gt), metrics.dice_per_class(pred, gt)
    rows = [{"class": str(k), "iou": v, "dice": dice[k]} for k, v in iou.items()]
    mean_iou, mean_dice = metrics.mean_iou(pred, gt), metrics.mean_dice(pred, gt)
    rows.append({"class": "mean", "iou": mean_iou, "dice": mean_dice})
    return Evaluation(rows, f"mean IoU {mean_iou:.2f} · mean Dice {mean_dice:.2f} · {fg}", note)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if not math.isfinite(value) else f"{value:.4f}"
    return str(value)


class EvaluateWidget(BioimgWidget):
    """Score a predicted Labels layer against a ground-truth Labels layer.

    Instance matching (precision, recall, F1, accuracy, mean matched IoU,
    panoptic quality at each IoU threshold; defaults 0.5 and 0.7 as the
    CLI) or per-class IoU and Dice. The newest prediction and another
    Labels layer are pre-selected.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    action = "evaluate"
    run_text = "Evaluate"

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self._seen: set = set()  # ids of the predicted layers already seen (a new one is pre-selected)
        self.pred = self.layer_combo(LabelsLayer, "prediction",
                                     tooltip="The labels to score (the newest prediction is pre-selected)")
        self.gt = self.layer_combo(LabelsLayer, "ground truth", tooltip="The reference labels (instance ids or "
                                   "class ids, 0 = background)")
        self.mode = ComboBox(choices=MODES, value=MODES[0], label="metrics",
                             tooltip="Instance matching: objects paired at each IoU threshold. Per-class: "
                                     "pixel IoU and Dice of each class")
        self.thresholds = LineEdit(value="0.5 0.7", label="IoU thresholds",
                                   tooltip="Instance matching: a predicted object counts as found when its "
                                           "IoU with a true object reaches the threshold (e.g. 0.5 0.7)")
        self.form.extend([self.pred, self.gt, self.mode, self.thresholds])
        self.mode.changed.connect(lambda *_: setattr(self.thresholds, "enabled", self.mode.value == MODES[0]))
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(160)
        self.table.setToolTip("The metrics of the last evaluation: one column per IoU threshold, or one row per class")
        self.extra.addWidget(self.table)
        self.rows: list[dict] = []
        self.summary = ""
        self.reset_choices()

    # -- defaults -------------------------------------------------------------
    def reset_choices(self, *_) -> None:
        """Refresh the drop-downs; a new prediction becomes the prediction, ground truth another layer."""
        super().reset_choices()
        if not hasattr(self, "gt"):
            return
        labels = [layer for layer in self.viewer.layers if isinstance(layer, LabelsLayer)]
        predicted = [layer for layer in labels if is_prediction(layer, self.session)]
        fresh = [layer for layer in predicted if id(real_viewer(layer)) not in self._seen]
        self._seen.update(id(real_viewer(layer)) for layer in predicted)
        if fresh:  # a prediction appeared since the last look: that is what the user wants scored
            self.pred.value = fresh[-1]
        pred = self.pred.value
        if pred is None:
            return
        if self.gt.value is None or real_viewer(self.gt.value) is real_viewer(pred):
            others = [layer for layer in labels if real_viewer(layer) is not real_viewer(pred)]
            # ground truth: not a prediction, same shape as the prediction, oldest first (samples come first)
            shape = getattr(pred.data, "shape", None)  # a multiscale layer's data is a list
            others.sort(key=lambda layer: (is_prediction(layer, self.session),
                                           getattr(layer.data, "shape", None) != shape))
            if others:
                self.gt.value = others[0]

    # -- running --------------------------------------------------------------
    def run(self) -> None:
        """Check the layers and compute the metrics in a worker."""
        hint = "predict one with the Predict widget or open a labels file"
        pred_layer = self.require(self.pred, "the predicted Labels layer", hint)
        gt_layer = self.require(self.gt, "the ground-truth Labels layer", hint)
        if real_viewer(pred_layer) is real_viewer(gt_layer):
            raise InputError(f"prediction and ground truth are the same layer ('{pred_layer.name}'): "
                             "choose two different layers")
        pred = np.squeeze(np.asarray(layer_to_image(pred_layer, self.viewer).data))
        gt = np.squeeze(np.asarray(layer_to_image(gt_layer, self.viewer).data))
        if pred.shape != gt.shape:
            raise InputError(f"shapes differ: '{pred_layer.name}' is {pred.shape}, '{gt_layer.name}' is "
                             f"{gt.shape}")
        thresholds = parse_thresholds(self.thresholds.value) if self.mode.value == MODES[0] else ()
        self.start(evaluate_labels, pred, gt, self.mode.value, thresholds, (pred_layer.name, gt_layer.name),
                   returned=lambda result: self.show(result, pred_layer.name, gt_layer.name))

    def show(self, result: Evaluation, pred_name: str, gt_name: str) -> None:
        """The summary in the status line, the details in the table (thresholds across for instances)."""
        rows = self.rows = result.rows
        self.summary = result.summary
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
        # tall enough to show every row (the scroll area around the widget scrolls on small screens)
        rows_height = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        frame = 2 * self.table.frameWidth() + self.table.horizontalHeader().height()
        self.table.setMinimumHeight(min(max(160, rows_height + frame + 4), 600))
        self.done(f"{result.summary}\n'{pred_name}' vs '{gt_name}'")
        if result.note:
            show_warning(f"evaluate: {result.note}")
            self.status.setText(f"{result.summary}\n'{pred_name}' vs '{gt_name}'. Note: {result.note}")
