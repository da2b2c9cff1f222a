"""One human-in-the-loop round in a real viewer, through the plugin doors and the visible buttons:

Train (short) -> Predict -> edit the predicted Labels layer (a missed nucleus painted in, as a user
would with the brush) -> Train "start from: <the current model>" on that same layer -> while it runs,
the live preview layer updates and a label painted meanwhile joins the running training.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("requires_engine")]


def _missed_object(pred: np.ndarray, gt: np.ndarray) -> int:
    """The ground-truth object least covered by the prediction."""
    ids = [i for i in np.unique(gt) if i]
    return min(ids, key=lambda i: float((pred[gt == i] > 0).mean()))


def test_predict_correct_retrain_with_live_preview(viewer, dock, click, wait, notes, qtbot):
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    train = dock(viewer, "Train")
    train.task.value = "instance"
    train.time_budget.value = 12
    train.depth.value, train.base_width.value, train.patch.value, train.batch.value = 2, 8, "64", 4
    click(train)
    wait(train, 240)
    assert not notes.errors, notes.errors
    first = train.model_name

    predict = dock(viewer, "Predict")
    assert predict.model_choice.value == first
    click(predict)
    wait(predict, 120)
    assert not notes.errors, notes.errors
    layer = viewer.layers[f"{image.name} instances"]
    as_predicted = np.array(layer.data)

    # the user's correction: paint a missed nucleus with a new id (undoable brush edit)
    gtd = np.asarray(gt.data)
    missed = _missed_object(as_predicted, gtd)
    layer.data_setitem(np.nonzero(gtd == missed), int(as_predicted.max()) + 1)
    assert (np.array(layer.data) != as_predicted).any()

    # Retrain from the current model on the corrected layer itself
    train.labels.value = layer
    train.time_budget.value = 120  # the default of a new model
    train.start_from.value = first
    assert train.task.value == "instance" and train.time_budget.value == 30  # a round: 30 s by default
    train.time_budget.value = 15
    assert train.live_preview.value
    click(train)
    assert train.busy and train.live is not None
    qtbot.waitUntil(lambda: train.live.updates >= 1, timeout=120_000)  # a preview while training runs
    preview = viewer.layers[f"{image.name} preview"]
    assert preview.data.shape == image.data.shape and float(preview.data.max()) > 0
    shown = train.live.updates
    # a label painted during training joins it at the next refresh
    other = _missed_object(np.array(layer.data), gtd)
    layer.data_setitem(np.nonzero(gtd == other), int(np.array(layer.data).max()) + 1)
    wait(train, 240)
    assert not notes.errors, notes.errors
    assert train.live.updates > shown  # refreshed again, still during the run
    assert train.live.label_updates >= 1
    assert "corrected pixels" in train.label_message
    assert train.model_name != first and train.start_from.value == train.model_name  # the next round's start
    steps = [e for e in train.events if getattr(e, "kind", "") == "step"]
    assert steps and train.events[-1].kind == "done"
