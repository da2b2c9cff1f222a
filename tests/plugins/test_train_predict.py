"""Train, Predict and Explain widgets opened through napari's plugin door, driven by their buttons.

Tiny models and a few steps (the time budget is switched off so epochs x steps bound the run).
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]


def configure(w, task: str, *, epochs: int = 2, steps: int = 3, patch: str = "32",
              depth: int = 1, width: int = 4, batch: int = 2) -> None:
    w.task.value = task
    w.time_budget.value = 0  # "off": epochs x steps decide, so the test is quick and reproducible
    w.epochs.value, w.steps.value, w.patch.value = epochs, steps, patch
    w.depth.value, w.base_width.value, w.batch.value = depth, width, batch


def test_train_segment_2d_predict_evaluate_save_reload(viewer, dock, click, wait, notes, paint_classes, tmp_path):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    painted = viewer.add_labels(np.zeros(gt.data.shape, np.uint8), name="painted", scale=image.scale)
    paint_classes(painted, gt.data)
    assert set(np.unique(painted.data)) == {0, 1, 2}
    predict = dock(viewer, "Predict")  # opened before training: it must still see the model
    train = dock(viewer, "Train")
    train.image.value, train.labels.value = image, painted
    configure(train, "segment")
    click(train)
    assert train.button.text() == "Cancel"
    wait(train, 120)
    assert not notes.errors, notes.errors
    assert train.button.text() == train.run_text and train.save_button.isEnabled()
    kinds = [e.kind for e in train.events]
    assert kinds.count("step") == 6 and kinds.count("epoch") == 2 and kinds[-1] == "done"
    assert train.model.info.task == "segment" and len(train.model.info.history) == 2

    assert predict.model_choice.value == train.model_name  # the model just trained is offered
    predict.image.value = image
    predict.probabilities.value = True
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    classes = viewer.layers["nuclei2d classes"]
    assert classes.data.shape == image.data.shape and set(np.unique(classes.data)) <= {0, 1, 2}
    np.testing.assert_allclose(classes.scale, image.scale)
    # one 2D probability layer per class, right below the labels (labels on top), no class slider
    k = predict.prediction.probabilities.shape[0]
    maps = [layer for layer in viewer.layers if layer.name.startswith("nuclei2d p(")]
    assert len(maps) == k >= 2
    names = [layer.name for layer in viewer.layers]
    assert names[-1] == "nuclei2d classes" and names[-1 - k:-1] == [m.name for m in maps]
    assert all(m.data.shape == image.data.shape and m.data.dtype == np.float32 for m in maps)
    assert viewer.dims.ndim == 2
    np.testing.assert_allclose(sum(m.data for m in maps), 1.0, atol=1e-4)

    # save, load in the Predict widget, predict again: same labels, no duplicated layers
    path = train.save_model(tmp_path / "seg")
    assert path.name == "seg.bioimg" and path.exists()
    name = predict.load_model(path)
    assert predict.model_choice.value == name == "seg.bioimg"
    first = classes.data.copy()
    count = len(viewer.layers)
    click(predict)
    wait(predict, 120)
    np.testing.assert_array_equal(viewer.layers["nuclei2d classes"].data, first)
    assert len(viewer.layers) == count

    # the CLI applies the GUI-trained model with the same defaults: same labels
    from bioimg.cli import main
    from bioimg.io import read
    from bioimg.sample import sample_paths

    assert main(["predict", str(sample_paths("nuclei2d")[0]), "--model", str(path), "--output",
                 str(tmp_path / "cli")]) == 0
    np.testing.assert_array_equal(read(tmp_path / "cli" / "nuclei2d_image_labels.tif").data, first)

    evaluate = dock(viewer, "Evaluate")
    assert evaluate.pred.value.name == "nuclei2d classes"  # the newest prediction ...
    assert evaluate.gt.value.name != "nuclei2d classes"  # ... against another layer
    evaluate.gt.value = gt
    click(evaluate)
    wait(evaluate)
    assert len(evaluate.rows) == 2 and 0.0 <= evaluate.rows[0]["f1"] <= 1.0
    assert evaluate.summary.startswith("F1@0.5 ") and evaluate.summary in evaluate.status.text()


def test_instance_3d_predict_and_explain(viewer, dock, click, wait, notes):
    image, labels = viewer.open_sample("bioimg", "nuclei3d")
    train = dock(viewer, "Train")
    train.image.value, train.labels.value = image, labels
    configure(train, "instance", epochs=1, steps=2, patch="16,32,32", batch=1)
    click(train)
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, "Predict")
    predict.image.value = image
    predict.tile.value = "16,64,64"
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    out = viewer.layers["nuclei3d instances"]
    assert out.data.shape == image.data.shape
    np.testing.assert_allclose(out.scale, (0.29, 0.26, 0.26))

    explain = dock(viewer, "Explain")
    assert explain.model_choice.value == train.model_name
    explain.image.value = image
    click(explain)
    wait(explain, 120)
    assert not notes.errors, notes.errors
    sal = viewer.layers["nuclei3d saliency"]
    assert sal.data.shape == image.data.shape and sal.data.dtype == np.float32 and sal.data.max() > 0
    np.testing.assert_allclose(sal.scale, image.scale)


def test_no_objects_is_a_warning(viewer, dock, click, wait, notes):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train = dock(viewer, "Train")
    train.image.value, train.labels.value = image, gt
    configure(train, "instance", epochs=1, steps=1)
    click(train)
    wait(train, 120)
    predict = dock(viewer, "Predict")
    predict.image.value = image
    predict.min_size.value = 10**9  # every object is too small: nothing survives
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    assert not viewer.layers["nuclei2d instances"].data.any()
    assert any("no objects found" in w for w in notes.warnings), notes.warnings
    assert "no objects found" in predict.status.text()


def test_denoise_mri_without_labels(viewer, dock, click, wait, notes):
    (mri,) = viewer.open_sample("bioimg", "mri")
    train = dock(viewer, "Train")
    train.image.value = mri
    configure(train, "denoise", epochs=1, steps=2, patch="8,16,16", batch=1)
    click(train)
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, "Predict")
    predict.image.value = mri
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    den = viewer.layers["mri denoised"]
    assert den.data.shape == mri.data.shape
    np.testing.assert_allclose(den.scale, (5.0, 4.0, 4.0))


def test_double_click_does_not_cancel_and_cancel_keeps_best_model(viewer, dock, click, wait, notes, qtbot):
    from qtpy.QtCore import Qt

    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train = dock(viewer, "Train")
    train.image.value, train.labels.value = image, gt
    configure(train, "instance", epochs=50, steps=20)
    qtbot.mouseClick(train.button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(train.button, Qt.MouseButton.LeftButton)  # the second click of a double click
    assert train.busy and not train.cancelled and train.button.text() == "Cancel"
    qtbot.waitUntil(lambda: len(train.events) >= 2, timeout=60000)
    assert not train.cancelled  # the double click started one run and did not cancel it
    click(train)  # a deliberate Cancel
    assert train.cancelled and not train.button.isEnabled()  # no restart by a stray click while stopping
    qtbot.mouseClick(train.button, Qt.MouseButton.LeftButton)
    wait(train, 60)
    assert not notes.errors, notes.errors
    assert train.events[-1].kind == "cancelled"
    assert train.events[-1].step < 50 * 20
    assert train.model is not None and train.save_button.isEnabled()
    assert "cancelled" in train.status.text()
    assert len(train.session.models) == 1  # one run, not two


def test_training_bad_inputs_are_notifications(viewer, dock, click, notes, monkeypatch):
    train = dock(viewer, "Train")
    click(train)
    assert "choose an image layer" in notes.errors[-1]
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train.image.value = image
    train.labels.value = None
    click(train)
    assert "Labels layer" in notes.errors[-1]
    train.labels.value = viewer.add_labels(np.ones((30, 30), np.uint8), name="small")
    click(train)
    assert "shape" in notes.errors[-1]
    train.labels.value = gt
    train.patch.value = "big"
    click(train)
    assert "patch size" in notes.errors[-1]
    train.patch.value = "32"
    monkeypatch.setattr("bioimg_napari._layers.available_memory", lambda: 1000)
    click(train)
    assert "not enough memory" in notes.errors[-1]
    assert not train.busy and len(viewer.layers) == 3


def test_predict_and_explain_bad_inputs(viewer, dock, click, notes, tmp_path):
    image, _ = viewer.open_sample("bioimg", "nuclei2d")
    predict = dock(viewer, "Predict")
    predict.image.value = image
    click(predict)
    assert "no model yet" in notes.errors[-1]
    bad = tmp_path / "bad.bioimg"
    bad.write_bytes(b"garbage")
    assert predict.load_model(bad) is None
    assert "not a bioimg model file" in notes.errors[-1]
    explain = dock(viewer, "Explain")
    explain.image.value = image
    click(explain)
    assert "no model yet" in notes.errors[-1]
    assert len(viewer.layers) == 2


def test_classify_objects_2d(viewer, dock, click, wait, notes):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    ids, sizes = np.unique(gt.data[gt.data > 0], return_counts=True)
    big = ids[sizes > np.median(sizes)]
    classes = np.where(np.isin(gt.data, big), 2, 1) * (gt.data > 0)  # objects painted with class 1 or 2
    painted = viewer.add_labels(classes.astype(np.uint8), name="object classes")
    train = dock(viewer, "Train")
    train.image.value, train.labels.value = image, painted
    configure(train, "classify", epochs=1, steps=2, patch="auto")
    click(train)
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, "Predict")
    assert not predict.threshold.enabled and predict.objects.enabled  # only the fields a classifier uses
    predict.image.value, predict.objects.value = image, gt
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    out = viewer.layers["nuclei2d object classes"].data
    assert set(np.unique(out)) <= {0, 1, 2} and ((out > 0) == (gt.data > 0)).all()
