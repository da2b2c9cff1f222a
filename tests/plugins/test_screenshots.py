"""A shown viewer renders the samples, ``bioimg gui``'s launcher docks every widget, and docs screenshots.

Set ``BIOIMG_SCREENSHOTS=docs`` to (re)write the README screenshots into
``docs/``; otherwise they go to a temporary folder (and are still checked).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bioimg_napari import WIDGETS

pytestmark = pytest.mark.gui
LIMIT = 300_000  # bytes per PNG


def save_png(rgba: np.ndarray, path: Path, limit: int = LIMIT) -> Path:
    """Save a screenshot as an 8-bit palette PNG under ``limit`` bytes (shrinking if needed)."""
    from PIL import Image

    img = Image.fromarray(np.asarray(rgba)[..., :3].astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size <= limit or img.width < 400:
            return path
        img = img.resize((int(img.width * 0.85), int(img.height * 0.85)), Image.Resampling.LANCZOS)


def not_blank(rgba: np.ndarray) -> bool:
    rgb = np.asarray(rgba)[..., :3].reshape(-1, 3)
    return rgb.std() > 5 and len(np.unique(rgb[:: max(1, len(rgb) // 50000)], axis=0)) > 20


@pytest.fixture
def out_dir(tmp_path) -> Path:
    where = os.environ.get("BIOIMG_SCREENSHOTS")
    return Path(where) if where else tmp_path


@pytest.fixture
def shown(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1280, 820)
    qtbot.wait(50)
    return viewer


def docked(viewer) -> dict:
    widgets = getattr(viewer.window, "dock_widgets", None)
    if widgets is None:  # napari < 0.6.2
        widgets = {k: v.widget() for k, v in viewer.window._dock_widgets.items()}
    return dict(widgets)


def test_canvas_is_not_blank(shown, qtbot):
    shown.open_sample("bioimg", "nuclei2d")
    qtbot.wait(100)
    shot = shown.screenshot(canvas_only=True, flash=False)
    assert shot.ndim == 3 and not_blank(shot)
    shown.dims.ndisplay = 3
    shown.open_sample("bioimg", "nuclei3d")
    qtbot.wait(100)
    assert not_blank(shown.screenshot(canvas_only=True, flash=False))


def test_launch_docks_every_widget(viewer):
    from bioimg.sample import sample_paths
    from bioimg_napari import launch

    path = sample_paths("mri")[0]
    assert launch([path], viewer=viewer) is viewer
    assert viewer.layers[0].name == "mri_epi_aniso"
    names = " ".join(docked(viewer))
    for name in WIDGETS:
        assert name in names
    sessions = {id(w.session) for w in docked(viewer).values() if hasattr(w, "session")}
    assert len(sessions) == 1  # Train, Predict, Explain... share one model session


def test_preprocess_screenshot(shown, dock, click, wait, out_dir, qtbot):
    (mri,) = shown.open_sample("bioimg", "mri")
    w = dock(shown, "Preprocess")
    w.image.value, w.kappa.value, w.niter.value = mri, 200.0, 20
    click(w)
    wait(w)
    getattr(shown, "canvas", shown).grid.enabled = True
    shown.dims.set_point(0, 60.0)
    shown.reset_view()
    getattr(shown, "scene", shown).camera.zoom *= 1.4  # napari >= 0.9: viewer.scene
    qtbot.wait(200)
    path = save_png(shown.screenshot(canvas_only=False, flash=False), out_dir / "napari_preprocess.png")
    assert path.stat().st_size <= LIMIT


# Regenerating the docs trains a little longer so the pictures show real results.
QUALITY = bool(os.environ.get("BIOIMG_SCREENSHOTS"))


def test_train_predict_evaluate_screenshots(shown, dock, click, wait, out_dir, qtbot, notes, request):
    request.getfixturevalue("requires_engine")
    image, gt = shown.open_sample("bioimg", "nuclei2d")
    gt.contour = 1
    train = dock(shown, "Train")
    train.image.value, train.labels.value, train.task.value = image, gt, "instance"
    if QUALITY:  # a real run: the default budget's curves, half-way through
        train.time_budget.value = 60
    else:
        train.time_budget.value, train.epochs.value, train.steps.value = 0, 3, 3
    train.patch.value, train.depth.value, train.base_width.value = "64", 2, 8
    click(train)
    qtbot.waitUntil(lambda: sum(e.kind == "epoch" for e in train.events) >= (4 if QUALITY else 1),
                    timeout=300_000)
    qtbot.wait(300)
    save_png(shown.screenshot(canvas_only=False, flash=False), out_dir / "napari_train.png")  # mid-run
    wait(train, 300)
    assert not notes.errors, notes.errors

    predict = dock(shown, "Predict")
    predict.image.value = image
    click(predict)
    wait(predict, 120)
    gt.visible = False
    evaluate = dock(shown, "Evaluate")
    assert evaluate.pred.value.name == "nuclei2d instances" and evaluate.gt.value.name == gt.name
    click(evaluate)
    wait(evaluate)
    assert not notes.errors, notes.errors
    qtbot.wait(300)
    save_png(shown.screenshot(canvas_only=False, flash=False), out_dir / "napari_predict_evaluate.png")
    for name in ("napari_train.png", "napari_predict_evaluate.png"):
        assert (out_dir / name).stat().st_size <= LIMIT


def test_3d_prediction_screenshot(shown, dock, click, wait, out_dir, qtbot, notes, request):
    request.getfixturevalue("requires_engine")
    image, labels = shown.open_sample("bioimg", "nuclei3d")
    train = dock(shown, "Train")
    train.image.value, train.labels.value, train.task.value = image, labels, "instance"
    if QUALITY:
        train.time_budget.value, train.patch.value = 90, "16,64,64"
    else:
        train.time_budget.value, train.epochs.value, train.steps.value = 0, 1, 2
        train.patch.value = "16,32,32"
    train.depth.value, train.base_width.value, train.batch.value = 2, 8, 2
    click(train)
    wait(train, 300)
    predict = dock(shown, "Predict")
    predict.image.value = image
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    labels.visible = False
    image.blending = "additive"
    shown.dims.ndisplay = 3
    shown.reset_view()
    camera = getattr(shown, "scene", shown).camera
    camera.angles = (-15, 30, 75)
    camera.zoom *= 0.75  # reset_view fits the unrotated box: the rotated stack would be cut off
    qtbot.wait(300)
    shot = shown.screenshot(canvas_only=False, flash=False)
    assert not_blank(shot)
    assert save_png(shot, out_dir / "napari_predict_3d.png").stat().st_size <= LIMIT


def test_bioimg_gui_command_opens_files_and_sample(viewer, monkeypatch):
    import argparse

    import napari

    import bioimg_napari
    from bioimg_napari._cli import run
    from bioimg.sample import sample_paths

    monkeypatch.setattr(napari, "run", lambda *a, **k: None)  # do not block in the event loop
    monkeypatch.setattr(bioimg_napari, "launch", lambda files: bioimg_napari._launch.launch(files, viewer=viewer))
    assert run(argparse.Namespace(files=[str(sample_paths("nuclei2d")[0])], sample="mri")) == 0
    assert [layer.name for layer in viewer.layers] == ["nuclei2d_image", "mri"]
    assert len(docked(viewer)) >= len(WIDGETS)
