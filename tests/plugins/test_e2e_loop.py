"""The biologist's loop, as a new user does it: sample -> Train (20 s) -> Predict -> Evaluate -> Explain.

Every widget is opened through napari's plugin door (``add_plugin_dock_widget``, as Plugins > bioimg
does, so each gets its own viewer proxy) and driven by its visible button. The model trained in Train
is used by Predict and Explain without saving it: they share the viewer's session.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]


def test_sample_train_predict_evaluate_explain(viewer, dock, click, wait, notes):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")

    train = dock(viewer, "Train")
    assert train.image.value.name == image.name and train.labels.value.name == gt.name  # pre-selected
    train.task.value = "instance"
    train.time_budget.value = 20
    # a small model on small patches: many steps in 20 s even on a busy 2-core machine
    train.depth.value, train.base_width.value, train.patch.value, train.batch.value = 2, 8, "64", 4
    click(train)
    assert train.busy
    wait(train, 240)
    assert not notes.errors, notes.errors
    assert train.model is not None and train.events[-1].kind == "done"
    assert "ready in Predict" in train.status.text()

    predict = dock(viewer, "Predict")
    assert predict.model_choice.value == train.model_name  # pre-selected, never saved to a file
    assert predict.image.value.name == image.name
    predict.probabilities.value = True
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    instances = viewer.layers[f"{image.name} instances"]
    assert instances.data.shape == image.data.shape
    n_objects = len(np.unique(instances.data)) - 1
    assert 20 <= n_objects <= 200, n_objects  # the ground truth has 73 nuclei
    names = [layer.name for layer in viewer.layers]
    assert names[-1] == instances.name  # labels on top of the probability maps
    assert {f"{image.name} p({c})" for c in ("background", "interior", "boundary")} <= set(names)
    assert viewer.dims.ndim == 2  # one 2D layer per class: no class slider

    evaluate = dock(viewer, "Evaluate")
    assert evaluate.pred.value.name == instances.name and evaluate.gt.value.name == gt.name
    click(evaluate)
    wait(evaluate)
    assert not notes.errors, notes.errors
    print(f"\n{sum(e.kind == 'step' for e in train.events)} steps, {n_objects} objects; {evaluate.summary}")
    f1 = {row["thresh"]: row["f1"] for row in evaluate.rows}
    assert f1[0.5] > 0.5, evaluate.summary  # 0 for no or wrong objects; 20 s models scored 0.88-0.94 here
    assert evaluate.status.text().startswith(f"F1@0.5 {f1[0.5]:.2f}")

    explain = dock(viewer, "Explain")
    assert explain.model_choice.value == train.model_name
    explain.image.value = image
    click(explain)
    wait(explain, 120)
    assert not notes.errors, notes.errors
    saliency = viewer.layers[f"{image.name} saliency"]
    assert saliency.data.shape == image.data.shape and float(saliency.data.max()) > 0
    assert not notes.errors and not [w for w in notes.warnings if w.startswith(("predict", "evaluate"))]
