"""Class masks vs instance labels: telling them apart and comparing one with the other sensibly."""
import math

import numpy as np
import pytest

from bioimg.metrics import as_instances, foreground, foreground_overlap, label_kind, match_instances


def blobs(n: int = 6, size: int = 64) -> np.ndarray:
    """``n`` separate square objects with ids 1..n."""
    out = np.zeros((size, size), np.uint16)
    for i in range(n):
        r, c = divmod(i, 3)
        out[4 + 20 * r: 12 + 20 * r, 4 + 20 * c: 12 + 20 * c] = i + 1
    return out


def test_label_kind():
    inst = blobs()
    assert label_kind(inst) == "instances"
    assert label_kind((inst > 0).astype(np.uint8)) == "classes"  # one value, several objects
    assert label_kind(np.where(inst > 0, 2, 1)) == "classes"  # every pixel classified (1 = background)
    assert label_kind(np.zeros((4, 4), int)) == "empty"
    many = np.arange(400).reshape(20, 20)  # more ids than classes ever are
    assert label_kind(many) == "instances"
    single = np.zeros((8, 8), int)
    single[2:4, 2:4] = 1
    assert label_kind(single) == "instances"  # one object: both readings agree
    with pytest.raises(ValueError, match="integer"):
        label_kind(np.full((3, 3), 0.5))


def test_foreground_background_is_zero_or_the_largest_class():
    inst = blobs()
    mask, bg = foreground(inst)
    assert bg == 0 and np.array_equal(mask, inst > 0)
    mask, bg = foreground(np.where(inst > 0, 2, 1))
    assert bg == 1 and np.array_equal(mask, inst > 0)


def test_as_instances_splits_a_class_mask_into_its_objects():
    inst = blobs()
    comps = as_instances(np.where(inst > 0, 2, 1))
    assert comps.max() == 6 and match_instances(comps, inst)["f1"] == 1.0
    assert as_instances(inst) is not None and np.array_equal(as_instances(inst), inst)  # instances unchanged
    # the id-by-id reading of the class mask finds nothing, which is what the GUI used to print
    assert match_instances(np.where(inst > 0, 2, 1), inst)["tp"] == 0


def test_foreground_overlap():
    inst = blobs()
    shifted = np.roll(inst, 4, axis=1)
    result = foreground_overlap(np.where(shifted > 0, 2, 1), inst)
    assert result["pred_background"] == 1 and result["gt_background"] == 0
    assert result["iou"] == pytest.approx(1 / 3) and result["dice"] == pytest.approx(0.5)
    assert math.isnan(foreground_overlap(np.zeros((3, 3), int), np.zeros((3, 3), int))["iou"])
    with pytest.raises(ValueError, match="shapes differ"):
        foreground_overlap(np.zeros((3, 3), int), np.zeros((4, 3), int))
