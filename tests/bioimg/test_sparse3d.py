"""Sparse 3D labels: a few painted slices of a stack train a 3D model; only painted voxels count.

Also the live pieces of the training loop: labels that change while a run is going
(``Trainer.update_labels``), corrected pixels weighted higher (``corrections``) and the preview.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioimg.training import IGNORE, TrainConfig, Trainer
from bioimg.training.corrections import WeightedDenseTask, corrected_mask
from bioimg.training.preview import preview

PAINTED = (6, 16, 26)


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(1)
    d, h, w = 32, 48, 48
    zz, yy, xx = np.mgrid[:d, :h, :w]
    gt = np.zeros((d, h, w), np.uint8)
    for _ in range(12):
        c = rng.uniform([4, 6, 6], [d - 4, h - 6, w - 6])
        r = rng.uniform(4, 7)
        gt[(zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r] = 1
    img = (gt * 1.0 + rng.normal(0, 0.35, gt.shape)).astype(np.float32)
    paint = np.zeros_like(gt)
    for z in PAINTED:
        paint[z] = gt[z] + 1  # 1 = background, 2 = nucleus, on three slices only
    return img, gt, paint


def _cfg(**kw):
    return TrainConfig(**{**dict(task="segment", labels_painted=True, epochs=3, steps_per_epoch=10, batch_size=2,
                                 patch_size=(16, 32, 32), model_kwargs=dict(depth=2, base_width=8), seed=0,
                                 val_fraction=0.0), **kw})


def test_painted_slices_train_a_3d_model_on_painted_voxels_only(stack):
    img, gt, paint = stack
    trainer = Trainer([img], [paint], _cfg())
    assert trainer.label_plan.kind == "sparse" and trainer.model_kw["ndim"] == 3
    target = trainer.task.sampler.targets[0]
    assert np.array_equal(target != IGNORE, paint > 0)  # unpainted voxels are left out of the loss
    for _ in range(30):  # every patch is centred on a painted voxel: none is wholly unlabelled
        assert (trainer.task.sampler.sample()[1] != IGNORE).any()
    before = preview(trainer, (slice(None),) * 3)
    events = list(trainer.run())
    assert events[-1].kind == "done" and events[-1].step == 30
    after = preview(trainer, (slice(None),) * 3)
    unpainted = np.ones(len(gt), bool)
    unpainted[list(PAINTED)] = False

    def gap(p):  # mean foreground probability on nuclei minus on background, unpainted slices
        return float(p[unpainted][gt[unpainted] == 1].mean() - p[unpainted][gt[unpainted] == 0].mean())
    assert gap(after) > gap(before) + 0.1, (gap(before), gap(after))  # it learned beyond the painted slices


def test_labels_painted_during_a_run_join_it(stack):
    img, gt, paint = stack
    trainer = Trainer([img], [paint], _cfg(epochs=1, steps_per_epoch=4))
    run = trainer.run()
    next(run)
    more = paint.copy()
    more[11] = gt[11] + 1  # a fourth slice painted while training
    trainer.update_labels([more])
    assert np.array_equal(trainer.task.sampler.targets[0] != IGNORE, more > 0)
    assert list(run)[-1].kind == "done"
    with pytest.raises(ValueError, match="shape"):
        trainer.update_labels([more[:-1]])


def test_corrected_pixels_weigh_more(stack):
    img, gt, _ = stack
    mid = gt[16].astype(np.uint16)
    pred = mid.copy()
    pred[:, :24] = 0  # the model missed the left half; the user restored it
    mask = corrected_mask(mid, pred, objects=False, margin=0)
    assert np.array_equal(mask, mid != pred)
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=2, batch_size=2, patch_size=(32, 32),
                      model_kwargs=dict(depth=1, base_width=4), correction_weight=5.0)
    trainer = Trainer([img[16]], [mid], cfg, corrections=[mask])
    assert isinstance(trainer.task, WeightedDenseTask)
    x, y = trainer.task.batch()
    out = trainer.net(x)
    y_true, flag = trainer.task._decode(y.numpy())
    import autograd as torch
    import autograd.nn.functional as F
    per = F.cross_entropy(out, torch.from_numpy(y_true.astype(np.int64)), ignore_index=IGNORE,
                          reduction="none").detach().numpy()
    w = np.where(flag, 5.0, 1.0) * (y_true != IGNORE)
    assert float(trainer.task.loss(out, y).item()) == pytest.approx(float((per * w).sum() / w.sum()), rel=1e-5)
    assert list(trainer.run())[-1].kind == "done"
