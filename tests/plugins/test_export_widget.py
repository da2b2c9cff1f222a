"""Train widget "Export...": a bioimage.io package written in a worker, read back by Predict."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _tiny_model():
    from bioimg.modelfile import BioimgModel, ModelInfo
    from bioimg.models import build_model

    cfg = dict(in_channels=1, out_channels=2, ndim=2, depth=1, base_width=4)
    return BioimgModel(build_model("unet", **cfg).eval(),
                       ModelInfo(task="segment", architecture="unet", config=cfg, patch_size=[32, 32],
                                 normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                                 class_names=["background", "nuclei"]))


def test_export_button_writes_package_that_predict_loads(viewer, dock, notes, qtbot, tmp_path,
                                                         monkeypatch):
    from qtpy.QtCore import Qt

    train = dock(viewer, "Train")
    predict = dock(viewer, "Predict")
    assert not train.export_button.isEnabled()  # nothing to export before training
    train.model = _tiny_model()
    train.export_button.setEnabled(True)
    out = tmp_path / "shared"  # no suffix: the package suffix is added
    asked = []

    def fake_dialog(parent, title, default, filters):
        asked.append((title, default, filters))
        return str(out), filters.split(";;")[0]
    monkeypatch.setattr("qtpy.QtWidgets.QFileDialog.getSaveFileName", fake_dialog)
    qtbot.mouseClick(train.export_button, Qt.MouseButton.LeftButton)
    assert asked and "*.zip" in asked[0][2] and "*.onnx" in asked[0][2]
    qtbot.waitUntil(lambda: "exported" in train.status.text() or bool(notes.errors), timeout=120000)
    assert not notes.errors, notes.errors
    package = tmp_path / "shared.zip"
    assert package.is_file() and "rdf.yaml" in zipfile.ZipFile(package).namelist()

    name = predict.load_model(package)
    assert name and predict.model_choice.value == name
    model = predict.chosen_model()
    assert model.info.task == "segment" and model.info.class_names == ["background", "nuclei"]
    x = np.random.default_rng(0).standard_normal((1, 1, 16, 16)).astype(np.float32)
    import autograd as torch
    with torch.no_grad():
        np.testing.assert_allclose(model.net(torch.from_numpy(x)).numpy(),
                                   train.model.net(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_export_without_model_is_a_notification(viewer, dock, notes):
    train = dock(viewer, "Train")
    assert train.export_model() is None
    assert "train a model first" in notes.errors[-1]
