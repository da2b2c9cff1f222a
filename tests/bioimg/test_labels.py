"""What label values mean (bioimg.training.labels) and the guards against degenerate runs."""
import numpy as np
import pytest

import autograd as torch
from bioimg.training import LABEL_KINDS, LabelPlan, TrainConfig, Trainer, interpret_labels
from bioimg.training.labels import MAX_CLASSES, label_targets
from bioimg.training.prep import TrainingDiverged
from bioimg.training.targets import IGNORE


def _blobs(n=9, size=64):
    """An instance mask with ``n`` separate disks (ids 1..n)."""
    yy, xx = np.mgrid[:size, :size]
    lab = np.zeros((size, size), np.uint16)
    side = int(np.ceil(np.sqrt(n)))
    step = size // side
    for k in range(n):
        cy, cx = step // 2 + step * (k // side), step // 2 + step * (k % side)
        lab[(yy - cy) ** 2 + (xx - cx) ** 2 <= (step // 3) ** 2] = k + 1
    return lab


def test_contract():
    assert LABEL_KINDS == ("auto", "sparse", "binary", "multiclass", "instance")
    plan = LabelPlan("binary", 2, "labels: x")
    assert plan.note == "" and plan.label_offset == 0
    with pytest.raises(ValueError, match="label_kind"):
        TrainConfig(label_kind="dense")


@pytest.mark.parametrize("labels,painted,kind,k", [
    ((_blobs() > 0).astype(np.uint8), False, "binary", 2),
    (_blobs() > 0, False, "binary", 2),
    (_blobs(), False, "instance", 2),
    (np.where(_blobs() > 0, 50000, 0), False, "binary", 2),  # one non-zero value, whatever it is
    (np.where(_blobs() == 9, 50000, _blobs()), False, "instance", 2),
    (_blobs(100), False, "instance", 2),  # more ids than MAX_CLASSES
    (np.minimum(_blobs(), 2), False, "multiclass", 3),  # {0, 1, 2} from a file: 3-class mask
    (np.minimum(_blobs(), 2), True, "sparse", 2),  # the same painted in napari: 2 classes
    (np.where(_blobs() > 0, (_blobs() - 1) % 3 + 1, 0), False, "multiclass", 4),
    ((_blobs() > 0).astype(np.uint8) + 1, False, "sparse", 2),  # every pixel labelled 1 or 2
])
def test_detection(labels, painted, kind, k):
    plan = interpret_labels([labels], "segment", painted=painted)
    assert (plan.kind, plan.num_classes) == (kind, k), plan.message
    assert plan.message.startswith("labels: ")
    assert ("--task instance" in plan.note) == (kind == "instance")


def test_instance_task_and_explicit_kinds():
    inst = _blobs()
    plan = interpret_labels([inst], "instance")
    assert (plan.kind, plan.num_classes) == ("instance", 3)
    assert interpret_labels([inst], "segment", "instance").num_classes == 2
    assert interpret_labels([np.minimum(inst, 2)], "segment", "sparse").num_classes == 2
    with pytest.raises(ValueError, match="does not fit --task instance"):
        interpret_labels([inst], "instance", "multiclass")
    with pytest.raises(ValueError, match="9 non-zero values"):
        interpret_labels([inst], "segment", "binary")
    with pytest.raises(ValueError, match=f"more than the limit of {MAX_CLASSES}.*--task instance"):
        interpret_labels([_blobs(80)], "segment", "multiclass")
    with pytest.raises(ValueError, match="only class 1 is painted"):
        interpret_labels([(inst > 0).astype(np.uint8)], "segment", painted=True)
    with pytest.raises(ValueError, match="label kind must be one of"):
        interpret_labels([inst], "segment", "dense")


def test_targets_follow_the_plan():
    inst = _blobs()
    bad = np.zeros(inst.shape, bool)
    bad[0, 0] = True
    fg = label_targets(inst, interpret_labels([inst], "segment"), "segment", bad)
    assert fg.dtype == np.int8 and set(np.unique(fg)) == {IGNORE, 0, 1} and fg[0, 0] == IGNORE
    sparse = np.minimum(inst, 2)
    t = label_targets(sparse, interpret_labels([sparse], "segment", painted=True))
    np.testing.assert_array_equal(t, sparse.astype(np.int64) - 1)


def test_huge_instance_id_builds_a_two_class_network(blobs2d):
    image, inst = blobs2d
    ids = np.where(inst == inst.max(), 50000, inst).astype(np.uint32)
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=1, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 1, "base_width": 4})
    trainer = Trainer(image, ids, cfg)
    assert trainer.model_kw["out_channels"] == 2 and trainer.label_plan.kind == "instance"
    assert trainer.class_names == ["background", "foreground"]
    assert "use --task instance" in trainer.label_plan.note


def test_trivial_model_does_not_score_one(blobs2d):
    """Background is a class: a model that says "foreground" everywhere scores < 1."""
    image, inst = blobs2d
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=1, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 1, "base_width": 4}, val_fraction=0.5)
    for labels, painted in (((inst > 0).astype(np.uint8), False),
                            (np.where(inst > 0, 2, 1).astype(np.uint8), True)):
        task = Trainer(image, labels, cfg).task

        def constant(x, k=task.num_classes):
            out = np.zeros((x.shape[0], k) + tuple(x.shape[2:]), np.float32)
            out[:, -1] = 10.0
            return torch.from_numpy(out)

        _, miou = task.validate(constant)
        assert miou is not None and miou < 0.6


def test_diverged_is_a_value_error(blobs2d, monkeypatch):
    from bioimg.training.tasks import DenseTask

    assert issubclass(TrainingDiverged, ValueError) and issubclass(TrainingDiverged, FloatingPointError)
    image, inst = blobs2d
    monkeypatch.setattr(DenseTask, "loss", lambda self, out, y: out.sum() * float("inf"))
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=2, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 1, "base_width": 4})
    with pytest.raises(TrainingDiverged, match="training diverged at step 0"):
        list(Trainer(image, (inst > 0).astype(np.uint8), cfg).run())


def test_predict_masks_nan_and_old_models_keep_1_based_labels(blobs2d):
    from bioimg.inference import predict
    from bioimg.training import fit

    image, inst = blobs2d
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=2, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 1, "base_width": 4})
    model = fit(image, (inst > 0).astype(np.uint8), cfg)
    assert model.info.extra["label_offset"] == 0 and model.info.extra["label_kind"] == "binary"
    noisy = image.copy()
    noisy[5:9, 5:9] = np.nan
    with pytest.warns(UserWarning, match="16 NaN pixels"):
        pred = predict(model, noisy)
    assert np.isfinite(pred.probabilities).all() and (pred.probabilities[:, 5:9, 5:9] == 0).all()
    assert set(np.unique(pred.labels)) <= {0, 1} and (pred.labels[5:9, 5:9] == 0).all()
    del model.info.extra["label_offset"]  # a model saved before label kinds: classes are 1..K
    assert set(np.unique(predict(model, image).labels)) <= {1, 2}


def test_divergence_names_an_input_cause():
    from bioimg.training.prep import input_cause

    sound = [np.zeros((1, 8, 8), np.float32)]
    assert input_cause(sound) == ""
    wild = [np.zeros((1, 8, 8), np.float32)]
    wild[0][0, 3, 3] = 3e8
    assert "normalized image values reach 3e+08" in input_cause(wild)
    batch = np.zeros((2, 1, 4, 4), np.float32)
    batch[0, 0, 0, 0] = np.nan
    assert "the batch holds 1 NaN/inf values" in input_cause(sound, batch)
