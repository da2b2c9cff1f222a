import numpy as np
import pytest

from bioimg.training import CancelToken, TrainConfig, Trainer, fit, instance_targets, semantic_targets


def _cfg(**kw):
    base = dict(epochs=2, steps_per_epoch=3, batch_size=2, patch_size=(32, 32),
                model_kwargs={"depth": 2, "base_width": 4})
    base.update(kw)
    return TrainConfig(**base)


def test_targets():
    lab = np.array([[0, 1, 2], [2, 0, 1]])
    np.testing.assert_array_equal(semantic_targets(lab), lab - 1)
    inst = np.zeros((7, 7), np.uint16)
    inst[1:6, 1:6] = 3
    t = instance_targets(inst)
    assert t[3, 3] == 1 and t[1, 3] == 2 and t[0, 0] == 0
    with pytest.raises(ValueError, match="integer"):
        semantic_targets(np.array([[0.5]]))


def test_semantic_sparse_labels_loss_decreases(blobs2d):
    image, inst = blobs2d
    sparse = np.zeros_like(inst)
    sparse[inst > 0] = 2
    sparse[(inst == 0) & (np.arange(64)[None, :] % 3 == 0)] = 1  # partial background strokes
    cfg = _cfg(task="segment", epochs=6, steps_per_epoch=5, lr=5e-3, labels_painted=True)
    trainer = Trainer(image, sparse, cfg)
    assert trainer.label_plan.kind == "sparse" and trainer.label_plan.num_classes == 2
    events = list(trainer.run())
    epochs = [e for e in events if e.kind == "epoch"]
    assert events[-1].kind == "done"
    assert epochs[-1].loss < epochs[0].loss
    assert trainer.result.info.class_names == ["class 1", "class 2"]


@pytest.mark.parametrize("task", ["instance", "segment"])
def test_3d_training_runs(blobs3d, task):
    image, inst = blobs3d
    labels = inst if task == "instance" else (inst > 0).astype(np.uint8) + 1
    cfg = _cfg(task=task, patch_size=(8, 16, 16), model_kwargs={"depth": 1, "base_width": 4})
    model = fit(image, labels, cfg)
    assert model.ndim == 3 and model.info.axes == "ZYX"


def test_seed_reproducible(blobs2d):
    image, inst = blobs2d
    runs = []
    for _ in range(2):
        t = Trainer(image, inst, _cfg(task="instance", seed=3))
        runs.append([e.loss for e in t.run() if e.kind == "step"])
    assert runs[0] == runs[1]


def test_cancel_keeps_best_and_checkpoint(blobs2d, tmp_path):
    from bioimg.modelfile import load_model
    image, inst = blobs2d
    token = CancelToken()
    ckpt = tmp_path / "best.bioimg"
    t = Trainer(image, inst, _cfg(task="instance", epochs=50), cancel=token, checkpoint=ckpt)
    kinds = []
    for ev in t.run():
        kinds.append(ev.kind)
        if ev.kind == "step" and ev.step == 4:
            token.cancel()
    assert kinds[-1] == "cancelled" and kinds.count("step") == 4
    assert ckpt.exists() and load_model(ckpt).task == "instance"


def test_time_budget_stops(blobs2d):
    image, inst = blobs2d
    t = Trainer(image, inst, _cfg(task="instance", epochs=1000, time_budget=0.5))
    last = list(t.run())[-1]
    assert last.message == "time budget reached"


def test_denoise_self_supervised(blobs2d):
    image, _ = blobs2d
    model = fit(image, None, _cfg(task="denoise", model_kwargs={"depth": 1, "base_width": 4}))
    assert model.task == "denoise"


def test_classify_objects_and_images(blobs2d):
    image, inst = blobs2d
    classes = np.where(inst % 2 == 1, 1, 2) * (inst > 0)
    m = fit(image, classes.astype(np.uint8), _cfg(task="classify", crop_size=16,
                                                  model_kwargs={"widths": [4, 8]}))
    assert m.info.config["num_classes"] == 2
    imgs = [image, image[::-1].copy(), image * 0.5, image[:, ::-1].copy()]
    m2 = fit(imgs, None, _cfg(task="classify", model_kwargs={"widths": [4, 8]}), image_classes=[1, 2, 1, 2])
    assert m2.info.patch_size


@pytest.mark.parametrize("bad,match", [
    (dict(labels=np.zeros((64, 64), np.uint8)), "empty"),
    (dict(labels=np.zeros((10, 10), np.uint8)), "shape"),
])
def test_bad_labels(blobs2d, bad, match):
    image, _ = blobs2d
    with pytest.raises(ValueError, match=match):
        Trainer(image, bad["labels"], _cfg(task="segment"))


def test_bad_config():
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="paint")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


def test_supervised_denoising_pairs_and_config_untouched(blobs2d):
    image, _ = blobs2d
    clean = np.full_like(image, 50.0)
    clean[16:48, 16:48] = 200.0
    cfg = _cfg(task="denoise", model_kwargs={"depth": 1, "base_width": 4})
    model = fit(image, clean, cfg)
    assert model.task == "denoise" and cfg.class_weights is None
    with pytest.raises(ValueError, match="clean image shape"):
        Trainer(image, clean[:32], _cfg(task="denoise"))


def test_sparse_painting_never_gives_a_batch_without_labels():
    """A few painted pixels, batch 1: every batch still holds a labelled pixel (no NaN loss)."""
    import numpy as np

    from bioimg.training import TrainConfig, Trainer
    from bioimg.training.targets import IGNORE

    image = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    painted = np.zeros((256, 256), np.uint8)
    painted[10, 10], painted[200, 200] = 1, 2
    trainer = Trainer(image, painted, TrainConfig(batch_size=1, patch_size=(32, 32), labels_painted=True,
                                                  val_fraction=0.0, model_kwargs={"depth": 1, "base_width": 4}))
    for _ in range(300):
        _, y = trainer.task.batch()
        assert (y.numpy() != IGNORE).any()
