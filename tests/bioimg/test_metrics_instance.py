"""Instance matching: hand-computed cases, StarDist semantics, slow reference."""
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy.optimize import linear_sum_assignment

from bioimg.metrics import (
    DSB_THRESHOLDS,
    aggregate_matches,
    average_precision,
    match_instances,
    match_instances_at,
)

NUCLEI = Path("/work/shared/data/nuclei2d/labels.tif")
KEYS = {"thresh", "tp", "fp", "fn", "precision", "recall", "f1", "accuracy", "mean_matched_iou",
        "mean_true_iou", "panoptic_quality", "n_true", "n_pred"}


def reference_matching(pred, gt, thresh):
    """Slow and obvious: IoU of every pair by masks, then a dense Hungarian."""
    t_ids = [i for i in np.unique(gt) if i != 0]
    p_ids = [j for j in np.unique(pred) if j != 0]
    iou = np.zeros((len(t_ids), len(p_ids)))
    for a, i in enumerate(t_ids):
        mt = gt == i
        for b, j in enumerate(p_ids):
            mp = pred == j
            inter = int(np.count_nonzero(mt & mp))
            if inter:
                iou[a, b] = inter / (int(mt.sum()) + int(mp.sum()) - inter)
    ok = (iou >= thresh) & (iou > 0)
    tp, pairs, scores = 0, [], []
    if ok.any():
        n = min(iou.shape)
        rows, cols = linear_sum_assignment(np.where(ok, -(1 + iou / (2 * n)), 0.0))
        keep = ok[rows, cols]
        rows, cols = rows[keep], cols[keep]
        tp = len(rows)
        pairs = [(int(p_ids[c]), int(t_ids[r])) for r, c in zip(rows, cols)]
        scores = iou[rows, cols]
    return dict(tp=tp, fp=len(p_ids) - tp, fn=len(t_ids) - tp, pairs=pairs, sum_iou=float(np.sum(scores)))


def assert_matches_reference(pred, gt, thresh):
    ref = reference_matching(pred, gt, thresh)
    m = match_instances(pred, gt, thresh, report_matches=True)
    assert (m["tp"], m["fp"], m["fn"]) == (ref["tp"], ref["fp"], ref["fn"])
    assert sorted(m["matched_pairs"]) == sorted(ref["pairs"])
    assert sum(m["matched_iou"]) == pytest.approx(ref["sum_iou"], rel=1e-12, abs=1e-12)
    tp, fp, fn = ref["tp"], ref["fp"], ref["fn"]
    if tp:
        assert m["precision"] == tp / (tp + fp) and m["recall"] == tp / (tp + fn)
        assert m["accuracy"] == tp / (tp + fp + fn) and m["f1"] == 2 * tp / (2 * tp + fp + fn)
        assert m["mean_matched_iou"] == pytest.approx(ref["sum_iou"] / tp, rel=1e-12)
        assert m["panoptic_quality"] == pytest.approx(ref["sum_iou"] / (tp + fp / 2 + fn / 2), rel=1e-12)
    return m


def two_squares(shift=1):
    gt = np.zeros((10, 10), np.uint16)
    gt[0:4, 0:4] = 1
    pred = np.zeros_like(gt)
    pred[0:4, shift:4 + shift] = 1
    return pred, gt


def test_two_squares_hand_computed():
    pred, gt = two_squares()  # 16 px each, 12 shared -> IoU 0.6
    m = match_instances(pred, gt, 0.5)
    assert set(m) == KEYS
    assert (m["tp"], m["fp"], m["fn"], m["n_true"], m["n_pred"]) == (1, 0, 0, 1, 1)
    assert m["mean_matched_iou"] == pytest.approx(0.6)
    assert m["mean_true_iou"] == pytest.approx(0.6)
    assert m["panoptic_quality"] == pytest.approx(0.6)
    assert m["f1"] == m["accuracy"] == 1.0
    m = match_instances(pred, gt, 0.7)
    assert (m["tp"], m["fp"], m["fn"]) == (0, 1, 1)
    assert m["precision"] == m["recall"] == m["f1"] == m["panoptic_quality"] == 0.0


def test_stardist_docstring_example():
    y_true = np.zeros((100, 100), np.uint16)
    y_true[10:20, 10:20] = 1
    y_pred = np.roll(y_true, 5, axis=0)  # IoU 1/3
    m = match_instances(y_pred, y_true)
    assert (m["fp"], m["tp"], m["fn"]) == (1, 0, 1)
    assert m["precision"] == m["recall"] == m["accuracy"] == m["f1"] == 0
    assert m["mean_true_iou"] == m["mean_matched_iou"] == m["panoptic_quality"] == 0.0
    assert match_instances(y_pred, y_true, 0.3)["mean_matched_iou"] == pytest.approx(1 / 3)


def test_mixed_tp_fp_fn_scores():
    gt = np.zeros((20, 20), np.int32)
    gt[0:4, 0:4] = 1          # matched by pred 10 with IoU 0.6
    gt[10:14, 10:14] = 2      # missed (FN)
    pred = np.zeros_like(gt)
    pred[0:4, 1:5] = 10
    pred[15:18, 0:3] = 11     # spurious (FP)
    m = match_instances(pred, gt)
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 1)
    assert m["precision"] == m["recall"] == m["f1"] == 0.5
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["mean_matched_iou"] == pytest.approx(0.6)
    assert m["mean_true_iou"] == pytest.approx(0.3)
    assert m["panoptic_quality"] == pytest.approx(0.6 / 2)


def test_optimal_not_greedy_matching():
    # gt A=[0,10) B=[10,20); pred X=[2,14) overlaps both, Y=[0,2) only A.
    # Greedy on the best IoU pairs X-A (0.571) and leaves 1 TP; optimal at
    # thresh 0.2 pairs X-B (0.222) and Y-A (0.2): 2 TPs.
    gt = np.zeros((1, 20), np.uint8)
    gt[0, :10], gt[0, 10:] = 1, 2
    pred = np.zeros_like(gt)
    pred[0, 2:14], pred[0, :2] = 7, 3
    m = match_instances(pred, gt, 0.2, report_matches=True)
    assert m["tp"] == 2 and sorted(m["matched_pairs"]) == [(3, 1), (7, 2)]
    assert m["mean_matched_iou"] == pytest.approx((4 / 18 + 2 / 10) / 2)
    m = match_instances(pred, gt, 0.5, report_matches=True)
    assert m["tp"] == 1 and m["matched_pairs"] == [(7, 1)]
    assert_matches_reference(pred, gt, 0.2)


def test_non_consecutive_ids_and_dtypes():
    pred, gt = two_squares()
    gt[6:9, 6:9] = 2
    pred[6:9, 6:9] = 2
    ref = match_instances(pred, gt)
    gt_big = np.where(gt == 1, 65000, np.where(gt == 2, 7, 0)).astype(np.uint16)
    pred_big = np.where(pred == 1, 2**40 + 3, np.where(pred == 2, 2**33, 0)).astype(np.uint64)
    m = match_instances(pred_big, gt_big, report_matches=True)
    assert {k: m[k] for k in KEYS} == ref
    assert sorted(m["matched_pairs"]) == [(2**33, 7), (2**40 + 3, 65000)]
    assert match_instances(pred.astype(np.int8), gt.astype(np.int64)) == ref


def test_3d():
    gt = np.zeros((6, 8, 8), np.uint16)
    gt[1:5, 1:5, 1:5] = 3  # 64 voxels
    pred = np.zeros_like(gt)
    pred[2:6, 1:5, 1:5] = 4  # 48 shared, union 80
    m = match_instances(pred, gt)
    assert m["tp"] == 1 and m["mean_matched_iou"] == pytest.approx(0.6)
    assert_matches_reference(pred, gt, 0.5)


def test_empty_inputs_follow_stardist():
    pred, gt = two_squares()
    empty = np.zeros_like(gt)
    m = match_instances(empty, empty)
    assert (m["tp"], m["fp"], m["fn"], m["n_true"], m["n_pred"]) == (0, 0, 0, 0, 0)
    # StarDist: every ratio is 0 when tp == 0, even with nothing to find
    assert m["precision"] == m["recall"] == m["f1"] == m["accuracy"] == 0.0
    m = match_instances(empty, gt)
    assert (m["tp"], m["fp"], m["fn"], m["recall"]) == (0, 0, 1, 0.0)
    m = match_instances(pred, empty)
    assert (m["tp"], m["fp"], m["fn"], m["precision"]) == (0, 1, 0, 0.0)
    z = np.zeros((0, 5), np.uint16)
    assert match_instances(z, z)["n_true"] == 0
    # pooled over a data set, empty images add nothing
    assert aggregate_matches([match_instances(gt, gt), match_instances(empty, empty)])["f1"] == 1.0


def test_thresholds_list_equals_single_calls():
    rng = np.random.default_rng(3)
    gt = _blobs(rng, (64, 64), 25)
    pred = _blobs(rng, (64, 64), 25)
    thresholds = (0.1, 0.3, 0.5, 0.7)
    multi = match_instances_at(pred, gt, thresholds, report_matches=True)
    assert [m["thresh"] for m in multi] == list(thresholds)
    assert multi == [match_instances(pred, gt, t, report_matches=True) for t in thresholds]
    assert len(match_instances_at(gt, gt)) == len(DSB_THRESHOLDS) == 10
    assert DSB_THRESHOLDS[1] == 0.55 and DSB_THRESHOLDS[-1] == 0.95
    assert average_precision(gt, gt) == 1.0
    ap = average_precision(pred, gt, thresholds)
    assert ap == pytest.approx(np.mean([m["accuracy"] for m in multi]))


def _blobs(rng, shape, n):
    """Random overlapping rectangles, later ones painted over earlier ones."""
    lab = np.zeros(shape, np.uint16)
    for i in range(1, n + 1):
        y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
        h, w = rng.integers(3, 14, 2)
        lab[y:y + h, x:x + w] = i * 3  # non-consecutive ids
    return lab


@pytest.mark.parametrize("seed", range(6))
def test_random_blobs_match_reference_at_low_thresholds(seed):
    rng = np.random.default_rng(seed)
    gt, pred = _blobs(rng, (48, 48), 20), _blobs(rng, (48, 48), 20)
    for thresh in (0.0, 0.1, 0.25, 0.5):
        assert_matches_reference(pred, gt, thresh)


@pytest.fixture(scope="module")
def nuclei():
    if not NUCLEI.exists():
        pytest.skip("nuclei sample labels not available")
    lab = tifffile.imread(NUCLEI)
    assert len(np.unique(lab)) - 1 == 73
    return lab


def test_nuclei_against_reference(nuclei):
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(0)
    # A plausible prediction: grown by 2 px, shifted by one, a few objects
    # dropped, 10 split in two halves (ambiguous below IoU 0.5), one
    # spurious object, ids scrambled.
    pred = np.roll(expand_labels(nuclei, 2), 1, axis=1).astype(np.int64)
    ids = np.unique(pred)[1:]
    chosen = rng.choice(ids, 15, replace=False)
    pred[np.isin(pred, chosen[:5])] = 0
    for k, i in enumerate(chosen[5:]):
        rr, cc = np.nonzero(pred == i)
        right = cc >= np.median(cc)
        pred[rr[right], cc[right]] = 1000 + k
    pred[:6, :6] = 2000
    lut = np.zeros(int(pred.max()) + 1, np.uint32)
    lut[1:] = rng.permutation(len(lut) - 1) * 11 + 5
    pred = lut[pred]
    for thresh in (0.1, 0.3, 0.5, 0.7, 0.9):
        m = assert_matches_reference(pred, nuclei, thresh)
        assert m["n_true"] == 73 and m["n_pred"] == 79
    assert 50 < match_instances(pred, nuclei, 0.5)["tp"] < 73


def test_many_objects_is_fast():
    # 10,000 squares: a dense 10k x 10k IoU matrix would need 800 MB.
    idx = np.arange(1000) // 10
    gt = (idx[:, None] * 100 + idx[None, :] + 1).astype(np.uint32)
    pred = np.roll(gt, 1, axis=1)  # every IoU = 9/11
    m = match_instances(pred, gt)
    assert m["tp"] == m["n_true"] == 10000
    assert m["mean_matched_iou"] == pytest.approx(9 / 11)


def test_aggregate_and_errors():
    pred, gt = two_squares()
    one = match_instances(pred, gt, 0.5)
    miss = match_instances(np.zeros_like(gt), gt, 0.5)
    tot = aggregate_matches([one, miss])
    assert (tot["tp"], tot["fn"], tot["n_true"]) == (1, 1, 2)
    assert tot["mean_matched_iou"] == pytest.approx(0.6)
    assert tot["mean_true_iou"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="different thresholds"):
        aggregate_matches([one, match_instances(pred, gt, 0.7)])
    with pytest.raises(ValueError, match="no results"):
        aggregate_matches([])
    with pytest.raises(ValueError, match="shapes"):
        match_instances(pred, gt[:5])
    with pytest.raises(ValueError, match="non-negative"):
        match_instances(pred.astype(np.int16) - 1, gt)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        match_instances(pred, gt, 1.5)
