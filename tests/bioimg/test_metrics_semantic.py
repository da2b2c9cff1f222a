"""Per-class IoU / Dice against hand-computed values and a loop reference."""
import math

import numpy as np
import pytest

from bioimg.metrics import (
    dice_from_confusion,
    dice_per_class,
    iou_from_confusion,
    iou_per_class,
    mean_dice,
    mean_iou,
    segmentation_confusion_matrix,
)


def _reference(pred, gt, num_classes):
    iou, dice = {}, {}
    for k in range(num_classes):
        p, g = pred == k, gt == k
        inter, union = np.sum(p & g), np.sum(p | g)
        iou[k] = inter / union if union else math.nan
        dice[k] = 2 * inter / (p.sum() + g.sum()) if union else math.nan
    return iou, dice


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == pytest.approx(b[k], abs=1e-12) for k in a)


def test_hand_computed_two_squares():
    gt = np.zeros((6, 6), np.uint8)
    gt[0:4, 0:4] = 1  # 16 px
    pred = np.zeros_like(gt)
    pred[0:4, 1:5] = 1  # 16 px, 12 shared
    iou = iou_per_class(pred, gt)
    dice = dice_per_class(pred, gt)
    assert iou[1] == pytest.approx(12 / 20)
    assert dice[1] == pytest.approx(24 / 32)
    # background: 36 - 20 = 16 shared, union 36 - 12 = 24
    assert iou[0] == pytest.approx(16 / 24)
    assert mean_iou(pred, gt) == pytest.approx((12 / 20 + 16 / 24) / 2)
    assert mean_dice(pred, gt) == pytest.approx((24 / 32 + 32 / 40) / 2)


def test_absent_class_is_nan_not_zero_division():
    gt = np.array([[0, 0, 2, 2]])
    pred = np.array([[0, 0, 2, 3]])
    iou = iou_per_class(pred, gt, num_classes=5)
    assert list(iou) == [0, 1, 2, 3, 4]
    assert math.isnan(iou[1]) and math.isnan(iou[4])
    assert iou[3] == 0.0  # predicted only: present, scores 0
    assert iou[2] == 0.5
    assert mean_iou(pred, gt, num_classes=5) == pytest.approx((1 + 0.5 + 0) / 3)


def test_all_absent_gives_nan_mean():
    empty = np.zeros((0, 3), np.uint8)
    assert iou_per_class(empty, empty) == {}
    assert math.isnan(mean_iou(empty, empty))
    assert math.isnan(mean_dice(empty, empty, num_classes=2))


def test_ignore_index_masks_gt_pixels_and_class():
    gt = np.array([[0, 1, 255, 255]])
    pred = np.array([[0, 1, 1, 0]])
    iou = iou_per_class(pred, gt, num_classes=2, ignore_index=255)
    assert iou == {0: 1.0, 1: 1.0}
    # an in-range ignore index drops its class from the report too
    iou = iou_per_class(np.array([1, 1, 2]), np.array([1, 0, 2]), ignore_index=0)
    assert iou == {1: 1.0, 2: 1.0}


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.uint64, np.int64])
def test_random_3d_matches_loop_reference(dtype):
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 4, (5, 7, 9)).astype(dtype)
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 5, gt.shape)).astype(dtype)
    ref_iou, ref_dice = _reference(pred, gt, 6)
    assert _same(iou_per_class(pred, gt, num_classes=6), ref_iou)
    assert _same(dice_per_class(pred, gt, num_classes=6), ref_dice)


def test_bool_and_integral_float_inputs():
    gt = np.array([[True, False], [True, True]])
    pred = np.array([[True, True], [False, True]])
    assert iou_per_class(pred, gt)[1] == pytest.approx(2 / 4)
    assert iou_per_class(pred.astype(np.float32), gt.astype(np.float32)) == iou_per_class(pred, gt)
    with pytest.raises(ValueError, match="integer"):
        iou_per_class(np.array([0.5, 1.0]), np.array([0, 1]))


def test_errors():
    with pytest.raises(ValueError, match="shapes"):
        iou_per_class(np.zeros((2, 3), int), np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="out of range"):
        iou_per_class(np.array([0, 3]), np.array([0, 1]), num_classes=2)
    with pytest.raises(ValueError, match="non-negative"):
        iou_per_class(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="match_instances"):
        iou_per_class(np.array([0, 60000]), np.array([0, 1]))


def test_confusion_pools_over_images():
    rng = np.random.default_rng(2)
    pairs = [(rng.integers(0, 3, (8, 8)), rng.integers(0, 3, (8, 8))) for _ in range(3)]
    cm = sum(segmentation_confusion_matrix(p, g, num_classes=3) for p, g in pairs)
    allp = np.concatenate([p.ravel() for p, _ in pairs])
    allg = np.concatenate([g.ravel() for _, g in pairs])
    assert cm.sum() == 3 * 64
    np.testing.assert_allclose(iou_from_confusion(cm), list(iou_per_class(allp, allg).values()))
    np.testing.assert_allclose(dice_from_confusion(cm), list(dice_per_class(allp, allg).values()))
