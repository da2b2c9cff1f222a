"""Train, Predict and Explain widgets end to end on the real samples (tiny models, a few steps)."""
from __future__ import annotations

import numpy as np
import pytest

from bioimg_napari._widgets.evaluate import EvaluateWidget
from bioimg_napari._widgets.explain import ExplainWidget
from bioimg_napari._widgets.predict import PredictWidget
from bioimg_napari._widgets.train import TrainWidget

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]


def configure(w: TrainWidget, task: str, *, epochs: int = 2, steps: int = 3, patch: str = "32",
              depth: int = 1, width: int = 4, batch: int = 2) -> None:
    w.task.value = task
    w.epochs.value, w.steps.value, w.patch.value = epochs, steps, patch
    w.depth.value, w.base_width.value, w.batch.value = depth, width, batch


def test_train_segment_2d_predict_evaluate_save_reload(viewer, dock, wait, notes, paint_classes, tmp_path):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    painted = viewer.add_labels(np.zeros(gt.data.shape, np.uint8), name="painted", scale=image.scale)
    paint_classes(painted, gt.data)
    assert set(np.unique(painted.data)) == {0, 1, 2}
    train = dock(viewer, TrainWidget)
    train.image.value, train.labels.value = image, painted
    configure(train, "segment")
    train.button.click()
    assert train.button.text() == "Cancel"
    wait(train, 120)
    assert not notes.errors, notes.errors
    assert train.button.text() == train.run_text and train.save_button.isEnabled()
    kinds = [e.kind for e in train.events]
    assert kinds.count("step") == 6 and kinds.count("epoch") == 2 and kinds[-1] == "done"
    assert len(train.plot.steps) == 6 and len(train.plot.epochs) == 2
    assert train.model.info.task == "segment" and len(train.model.info.history) == 2

    predict = dock(viewer, PredictWidget)
    assert predict.model_choice.value == train.model_name  # the model just trained is offered
    predict.image.value = image
    predict.probabilities.value = True
    predict.button.click()
    wait(predict, 120)
    assert not notes.errors, notes.errors
    classes = viewer.layers["nuclei2d classes"]
    assert classes.data.shape == image.data.shape and set(np.unique(classes.data)) <= {1, 2}
    np.testing.assert_allclose(classes.scale, image.scale)
    probs = viewer.layers["nuclei2d probabilities"]
    assert probs.data.shape == (2,) + image.data.shape

    # save, load in the Predict widget, predict again: same labels
    path = train.save_model(tmp_path / "seg")
    assert path.name == "seg.bioimg" and path.exists()
    name = predict.load_model(path)
    assert predict.model_choice.value == name == "seg.bioimg"
    first = classes.data.copy()
    predict.run_safely()
    wait(predict, 120)
    np.testing.assert_array_equal(viewer.layers["nuclei2d classes"].data, first)

    # the CLI applies the GUI-trained model with the same defaults: same labels
    from bioimg.cli import main
    from bioimg.io import read
    from bioimg.sample import sample_paths

    assert main(["predict", str(sample_paths("nuclei2d")[0]), "--model", str(path), "--output",
                 str(tmp_path / "cli")]) == 0
    np.testing.assert_array_equal(read(tmp_path / "cli" / "nuclei2d_image_labels.tif").data, first)

    evaluate = dock(viewer, EvaluateWidget)
    evaluate.pred.value, evaluate.gt.value = classes, gt
    evaluate.run_safely()
    wait(evaluate)
    assert len(evaluate.rows) == 2 and 0.0 <= evaluate.rows[0]["f1"] <= 1.0


def test_train_instance_3d_and_predict(viewer, dock, wait, notes):
    image, labels = viewer.open_sample("bioimg", "nuclei3d")
    train = dock(viewer, TrainWidget)
    train.image.value, train.labels.value = image, labels
    configure(train, "instance", epochs=1, steps=2, patch="16,32,32", batch=1)
    train.run_safely()
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, PredictWidget)
    predict.image.value = image
    predict.tile.value = "16,64,64"
    predict.run_safely()
    wait(predict, 120)
    assert not notes.errors, notes.errors
    out = viewer.layers["nuclei3d instances"]
    assert out.data.shape == image.data.shape
    np.testing.assert_allclose(out.scale, (0.29, 0.26, 0.26))

    explain = dock(viewer, ExplainWidget)
    explain.image.value = image
    explain.run_safely()
    wait(explain, 120)
    assert not notes.errors, notes.errors
    sal = viewer.layers["nuclei3d saliency"]
    assert sal.data.shape == image.data.shape and sal.data.dtype == np.float32 and sal.data.max() > 0
    np.testing.assert_allclose(sal.scale, image.scale)


def test_denoise_mri_without_labels(viewer, dock, wait, notes):
    (mri,) = viewer.open_sample("bioimg", "mri")
    train = dock(viewer, TrainWidget)
    train.image.value = mri
    configure(train, "denoise", epochs=1, steps=2, patch="8,16,16", batch=1)
    train.run_safely()
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, PredictWidget)
    predict.image.value = mri
    predict.run_safely()
    wait(predict, 120)
    assert not notes.errors, notes.errors
    den = viewer.layers["mri denoised"]
    assert den.data.shape == mri.data.shape
    np.testing.assert_allclose(den.scale, (5.0, 4.0, 4.0))


def test_cancel_mid_training_keeps_best_model(viewer, dock, wait, notes, qtbot):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train = dock(viewer, TrainWidget)
    train.image.value, train.labels.value = image, gt
    configure(train, "instance", epochs=50, steps=20)
    train.button.click()
    qtbot.waitUntil(lambda: len(train.events) >= 2, timeout=60000)
    train.button.click()  # Cancel
    wait(train, 60)
    assert not notes.errors, notes.errors
    assert train.events[-1].kind == "cancelled"
    assert train.events[-1].step < 50 * 20
    assert train.model is not None and train.save_button.isEnabled()
    assert "cancelled" in train.status.text()


def test_training_bad_inputs_are_notifications(viewer, dock, notes, monkeypatch):
    train = dock(viewer, TrainWidget)
    train.run_safely()
    assert "choose an image layer" in notes.errors[-1]
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train.image.value = image
    train.labels.value = None
    train.run_safely()
    assert "Labels layer" in notes.errors[-1]
    empty = viewer.add_labels(np.zeros(gt.data.shape, np.uint8), name="empty")
    train.labels.value = empty
    train.run_safely()
    assert "empty" in notes.errors[-1]
    train.labels.value = viewer.add_labels(np.ones((30, 30), np.uint8), name="small")
    train.run_safely()
    assert "must match" in notes.errors[-1]
    train.labels.value = gt
    train.patch.value = "big"
    train.run_safely()
    assert "patch size" in notes.errors[-1]
    train.patch.value = "32"
    monkeypatch.setattr("bioimg_napari._layers.available_memory", lambda: 1000)
    train.run_safely()
    assert "not enough memory" in notes.errors[-1]
    assert not train.busy and len(viewer.layers) == 4
    np.testing.assert_array_equal(empty.data, 0)


def test_predict_and_explain_bad_inputs(viewer, dock, notes, tmp_path):
    image, _ = viewer.open_sample("bioimg", "nuclei2d")
    predict = dock(viewer, PredictWidget)
    predict.image.value = image
    predict.run_safely()
    assert "no model" in notes.errors[-1]
    bad = tmp_path / "bad.bioimg"
    bad.write_bytes(b"garbage")
    assert predict.load_model(bad) is None
    assert "not a bioimg model file" in notes.errors[-1]
    explain = dock(viewer, ExplainWidget)
    explain.image.value = image
    explain.run_safely()
    assert "no model" in notes.errors[-1]
    assert len(viewer.layers) == 2


def test_classify_objects_2d(viewer, dock, wait, notes):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    ids, sizes = np.unique(gt.data[gt.data > 0], return_counts=True)
    big = ids[sizes > np.median(sizes)]
    classes = np.where(np.isin(gt.data, big), 2, 1) * (gt.data > 0)  # objects painted with class 1 or 2
    painted = viewer.add_labels(classes.astype(np.uint8), name="object classes")
    train = dock(viewer, TrainWidget)
    train.image.value, train.labels.value = image, painted
    configure(train, "classify", epochs=1, steps=2, patch="auto")
    train.run_safely()
    wait(train, 120)
    assert not notes.errors, notes.errors
    predict = dock(viewer, PredictWidget)
    predict.image.value, predict.objects.value = image, gt
    predict.run_safely()
    wait(predict, 120)
    assert not notes.errors, notes.errors
    out = viewer.layers["nuclei2d object classes"].data
    assert set(np.unique(out)) <= {0, 1, 2} and ((out > 0) == (gt.data > 0)).all()
