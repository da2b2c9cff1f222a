"""The Train widget as napari opens it: pre-selected labels, a time budget, folded advanced fields,
tooltips, budget-based status, a validation curve, the plot in napari's theme, label kinds, warnings."""
from __future__ import annotations

import re

import numpy as np
import pytest

import bioimg_napari._widgets.train as train_module

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]
STATUS = re.compile(r"^\d+:\d\d / 0:0\d · ETA \d+:\d\d · loss [0-9.e+-]+( · val mean IoU [01]\.\d\d)?$")


def open_train(viewer):
    """Open Train the way the Plugins menu does (npe2 manifest, viewer proxy)."""
    _, widget = viewer.window.add_plugin_dock_widget("bioimg", "Train")
    return widget


def tiny(w, budget: float = 3.0) -> None:
    """A small model and patch so a run of a few seconds does many steps."""
    w.time_budget.value = budget
    # batch 8: a batch of sparse painting always holds labelled pixels (an all-unlabelled batch gives NaN)
    w.depth.value, w.base_width.value, w.patch.value, w.batch.value = 1, 4, "32", 8


@pytest.fixture
def spy(monkeypatch):
    """Records the TrainConfig each started run receives."""
    configs = []
    real = train_module.train_job

    def job(image, labels, config, cancel, *extra):  # extra: init model, corrections, live training
        configs.append(config)
        return (yield from real(image, labels, config, cancel, *extra))
    monkeypatch.setattr(train_module, "train_job", job)
    return configs


def warnings_shown(notes) -> list[str]:
    return notes._of("warning")


def test_defaults_preselection_fold_and_tooltips(viewer, qtbot):
    viewer.add_labels(np.zeros((7, 9), np.uint8), name="other size")
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    w = open_train(viewer)
    assert w.image.value is image and w.labels.value is gt  # the labels that fit the image
    assert w.time_budget.value == 120 and w.label_kind.value == "auto"
    assert w.advanced.native.isHidden() and not w.advanced_toggle.isChecked()
    w.advanced_toggle.click()
    assert not w.advanced.native.isHidden()
    w.advanced_toggle.click()
    assert w.advanced.native.isHidden()
    fields = list(w.form) + list(w.advanced)
    assert {f.name for f in w.advanced} >= {"seed", "lr", "depth", "base_width", "batch", "epochs", "steps", "patch"}
    missing = [f.name for f in fields if not f.tooltip]
    assert not missing, f"fields without a tooltip: {missing}"
    assert w.advanced_toggle.toolTip() and w.save_button.toolTip()
    w.time_budget.value = 0
    assert w.time_budget.native.lineEdit().text() == "off"
    assert w.depth.native.lineEdit().text() == "auto" and w.base_width.native.lineEdit().text() == "auto"


def test_labels_follow_the_image(viewer):
    small = viewer.add_image(np.random.default_rng(0).random((40, 30), dtype=np.float32), name="small")
    big = viewer.add_image(np.random.default_rng(1).random((50, 60), dtype=np.float32), name="big")
    big_labels = viewer.add_labels(np.zeros((50, 60), np.uint8), name="big labels")
    small_labels = viewer.add_labels(np.zeros((40, 30), np.uint8), name="small labels")
    w = open_train(viewer)
    w.image.value = big
    assert w.labels.value is big_labels
    w.image.value = small
    assert w.labels.value is small_labels
    viewer.layers.remove(small_labels)
    assert w.labels.value is None  # nothing of the small image's shape is left
    painted = viewer.add_labels(np.zeros((40, 30), np.uint8), name="painted")
    assert w.labels.value is painted  # a new layer that fits is picked up


def test_short_budget_run_status_curve_plot_and_label_kind(viewer, qtbot, notes, paint_classes, spy):
    viewer.theme = "dark"
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    painted = viewer.add_labels(np.zeros(gt.data.shape, np.uint8), name="painted")
    paint_classes(painted, gt.data)
    w = open_train(viewer)
    w.image.value, w.labels.value = image, painted
    tiny(w, 3.0)
    w.button.click()
    assert w.busy
    seen = []

    def finished() -> bool:
        seen.append(w.status.text())
        return not w.busy
    qtbot.waitUntil(finished, timeout=120_000)
    assert not notes.errors, notes.errors
    config = spy[-1]
    assert config.time_budget == 3.0 and config.label_kind == "auto" and config.labels_painted
    lines = [t.splitlines() for t in seen if "\n" in t]
    assert lines and lines[0][0].startswith("labels: sparse painting"), seen[:3]
    progress = [ln[-1] for ln in lines if ln[-1] != "starting..."]
    assert progress and all(STATUS.match(p) for p in progress), progress
    assert not any("epoch" in p or "step" in p for p in progress)
    assert "val mean IoU" in progress[-1] or len(progress) == 1
    epochs = [e for e in w.events if e.kind == "epoch"]
    assert len(epochs) >= 8 and len(w.plot.epochs) == len(epochs)  # a curve, not two dots
    assert sum(e.val_metric is not None for e in epochs) >= 8
    assert w.events[-1].message == "time budget reached" and "is ready in Predict" in w.status.text()
    assert w.progress.value() == w.progress.maximum()

    w.plot.render_now()
    assert w.plot.ax2.get_ylim() == (0.0, 1.0)
    dark = w.plot.grab().toImage().pixelColor(3, 3)
    assert max(dark.red(), dark.green(), dark.blue()) < 100, dark.name()  # not white in the dark theme
    assert len(w.plot.ax.lines[2].get_xdata()) >= 8  # the validation loss curve was drawn
    viewer.theme = "light"
    w.plot.render_now()
    light = w.plot.grab().toImage().pixelColor(3, 3)
    assert min(light.red(), light.green(), light.blue()) > 150, light.name()


def test_label_kind_reaches_the_trainer(viewer, wait, notes, spy):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")  # an instance mask read from a file
    w = open_train(viewer)
    assert w.labels.value is gt
    w.label_kind.value = "instance"
    tiny(w, 1.0)
    w.button.click()
    wait(w, 120)
    assert not notes.errors, notes.errors
    assert spy[-1].label_kind == "instance" and not spy[-1].labels_painted
    assert w.label_message.startswith("labels: dense instance mask")
    assert w.model.info.class_names == ["background", "foreground"]
    w.task.value = "classify"
    assert not w.label_kind.visible


@pytest.mark.parametrize("case", ["one class", "empty", "small image"])
def test_pointless_runs_warn_and_do_not_start(viewer, notes, spy, case):
    rng = np.random.default_rng(0)
    shape = (20, 20) if case == "small image" else (96, 96)
    image = viewer.add_image(rng.random(shape, dtype=np.float32), name="img")
    labels = np.zeros(shape, np.uint8)
    if case != "empty":
        labels[2:8, 2:8] = 2
    viewer.add_labels(labels, name="painted")
    w = open_train(viewer)
    w.image.value = image
    w.patch.value = "64"
    w.button.click()
    assert not w.busy and not spy
    shown = warnings_shown(notes)
    assert shown and w.status.text() == shown[-1]
    expect = {"one class": "only class 2 is painted in 'painted'", "empty": "labels 'painted' are empty",
              "small image": "image 'img' (20x20) is smaller than the patch (64x64)"}[case]
    assert expect in shown[-1], shown[-1]
    assert not notes.errors
