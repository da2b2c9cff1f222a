"""Instance matching at IoU thresholds, as StarDist and the DSB2018 metric report it.

Objects of the prediction and the ground truth are paired one-to-one; a pair
is a true positive when its IoU is at least the threshold. The pairing is
optimal: it maximises the number of matched pairs, then (tie-break) the sum
of their IoUs (StarDist's ``matching``). For thresholds >= 0.5 every object
has at most one candidate partner (ties aside at exactly 0.5), so the optimal
matching is the obvious one; below 0.5 the Hungarian algorithm decides.

Definitions and conventions follow ``stardist.matching.matching`` with
``criterion='iou'``, apart from the argument order: ``(pred, gt)`` here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bioimg.metrics._semantic import as_label_array

__all__ = ["DSB_THRESHOLDS", "match_instances", "match_instances_at",
           "average_precision", "aggregate_matches"]

#: IoU thresholds 0.50, 0.55, ..., 0.95 of the Data Science Bowl 2018 metric.
DSB_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))

# Above this many (n_true * n_pred) cells a dense bincount of the overlap
# costs more memory than sorting the paired labels with np.unique.
_DENSE_OVERLAP_LIMIT = 1 << 22


def _relabel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened labels renumbered 0 (background), 1..n; and the n original ids."""
    x = x.ravel()
    if x.size == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.int64)
    lo, hi = int(x.min()), int(x.max())
    if lo < 0:
        raise ValueError(f"instance labels must be non-negative, found {lo}")
    if hi <= max(2 * x.size, 1 << 16):
        # A lookup table is O(N); np.unique would sort (O(N log N)).
        xi = x.astype(np.intp, copy=False)
        present = np.bincount(xi, minlength=hi + 1) > 0
        present[0] = True
        lut = np.cumsum(present, dtype=np.intp) - 1
        return lut[xi], np.flatnonzero(present)[1:].astype(np.int64)
    ids, inverse = np.unique(x, return_inverse=True)  # huge, sparse ids
    if ids[0] != 0:
        inverse = inverse + 1
    return inverse.astype(np.intp, copy=False).ravel(), ids[ids != 0].astype(np.int64)


@dataclass(frozen=True)
class _Overlap:
    """Sparse IoU matrix: one entry per (true, pred) pair that overlaps."""

    t: np.ndarray  # 0-based index of the true object
    p: np.ndarray  # 0-based index of the predicted object
    iou: np.ndarray
    true_ids: np.ndarray
    pred_ids: np.ndarray

    @property
    def n_true(self) -> int:
        return len(self.true_ids)

    @property
    def n_pred(self) -> int:
        return len(self.pred_ids)


def _overlap(pred, gt) -> _Overlap:
    p_arr, g_arr = as_label_array(pred, "pred"), as_label_array(gt, "gt")
    if p_arr.shape != g_arr.shape:
        raise ValueError(f"pred and gt shapes {p_arr.shape} and {g_arr.shape} differ")
    g, true_ids = _relabel(g_arr)
    p, pred_ids = _relabel(p_arr)
    n_true, n_pred = len(true_ids), len(pred_ids)
    area_t = np.bincount(g, minlength=n_true + 1)[1:]
    area_p = np.bincount(p, minlength=n_pred + 1)[1:]
    both = (g > 0) & (p > 0)
    key = (g[both] - 1).astype(np.int64) * n_pred + (p[both] - 1)
    if n_true * n_pred <= _DENSE_OVERLAP_LIMIT:
        counts = np.bincount(key, minlength=n_true * n_pred)
        key = np.flatnonzero(counts)
        inter = counts[key]
    else:
        key, inter = np.unique(key, return_counts=True)
    t, pp = np.divmod(key, max(n_pred, 1))
    iou = inter / (area_t[t] + area_p[pp] - inter)
    return _Overlap(t.astype(np.intp), pp.astype(np.intp), iou, true_ids, pred_ids)


def _assign(ov: _Overlap, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimal one-to-one matching among pairs with IoU >= thresh, sorted by true index."""
    sel = ov.iou >= thresh
    t, p, s = ov.t[sel], ov.p[sel], ov.iou[sel]
    deg_t = np.bincount(t, minlength=ov.n_true)
    deg_p = np.bincount(p, minlength=ov.n_pred)
    # Pairs whose two objects have no other candidate are matched outright;
    # only the (usually few, small) ambiguous components need the Hungarian
    # algorithm, so no dense n_true x n_pred matrix is ever built.
    simple = (deg_t[t] == 1) & (deg_p[p] == 1)
    out_t, out_p, out_s = [t[simple]], [p[simple]], [s[simple]]
    rest = ~simple
    if rest.any():
        t2, p2, s2 = t[rest], p[rest], s[rest]
        ut, tl = np.unique(t2, return_inverse=True)
        up, pl = np.unique(p2, return_inverse=True)
        n = len(ut) + len(up)
        graph = coo_matrix((np.ones(len(tl)), (tl, len(ut) + pl)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        edge_comp = comp[tl]
        order = np.argsort(edge_comp, kind="stable")
        bounds = np.flatnonzero(np.diff(edge_comp[order])) + 1
        for idx in np.split(order, bounds):
            rows, r = np.unique(tl[idx], return_inverse=True)
            cols, c = np.unique(pl[idx], return_inverse=True)
            k = min(len(rows), len(cols))
            iou = np.zeros((len(rows), len(cols)))
            iou[r, c] = s2[idx]
            # StarDist's cost: each candidate pair is worth 1 plus an IoU
            # tie-break that sums to < 1, so the count of matches is
            # maximised first, then the summed IoU.
            cost = np.zeros_like(iou)
            cost[r, c] = -(1.0 + s2[idx] / (2 * k))
            ri, ci = linear_sum_assignment(cost)
            ok = cost[ri, ci] < 0
            out_t.append(ut[rows[ri[ok]]])
            out_p.append(up[cols[ci[ok]]])
            out_s.append(iou[ri[ok], ci[ok]])
    t, p, s = (np.concatenate(a) for a in (out_t, out_p, out_s))
    order = np.argsort(t, kind="stable")  # deterministic IoU summation order
    return t[order], p[order], s[order]


def _check_thresh(thresh) -> float:
    thr = float(thresh)
    if not 0.0 <= thr <= 1.0:
        raise ValueError(f"IoU threshold must be in [0, 1], got {thresh}")
    return thr


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _scores(tp: int, fp: int, fn: int, n_true: int, n_pred: int,
            sum_iou: float, thresh: float) -> dict:
    # StarDist convention: precision, recall, f1 and accuracy are 0 whenever
    # tp == 0, including an image with no objects at all in either input.
    def nz(num, den):
        return num / den if tp > 0 else 0.0

    return {
        "thresh": thresh, "tp": tp, "fp": fp, "fn": fn,
        "precision": nz(tp, tp + fp), "recall": nz(tp, tp + fn),
        "f1": nz(2 * tp, 2 * tp + fp + fn), "accuracy": nz(tp, tp + fp + fn),
        "mean_matched_iou": _ratio(sum_iou, tp),
        "mean_true_iou": _ratio(sum_iou, n_true),
        "panoptic_quality": _ratio(sum_iou, tp + fp / 2 + fn / 2),
        "n_true": n_true, "n_pred": n_pred,
    }


def _stats(ov: _Overlap, thresh: float, report_matches: bool) -> dict:
    t, p, s = _assign(ov, thresh)
    tp = len(t)
    out = _scores(tp, ov.n_pred - tp, ov.n_true - tp, ov.n_true, ov.n_pred, float(np.sum(s)), thresh)
    if report_matches:
        out["matched_pairs"] = [(int(a), int(b)) for a, b in zip(ov.pred_ids[p], ov.true_ids[t])]
        out["matched_iou"] = [float(v) for v in s]
    return out


def match_instances(pred, gt, thresh: float = 0.5, report_matches: bool = False) -> dict:
    """Match predicted objects to ground-truth objects at one IoU threshold.

    Parameters
    ----------
    pred, gt : array_like of int
        Instance label images of the same shape (2D or 3D); 0 is background,
        ids need not be consecutive.
    thresh : float
        A matched pair counts as a true positive when IoU >= ``thresh``.
        Pairs must overlap, so ``thresh=0`` means "any overlap".
    report_matches : bool
        Also return ``matched_pairs`` (list of ``(pred_id, gt_id)``, original
        ids) and ``matched_iou``.

    Returns
    -------
    dict
        ``thresh, tp, fp, fn, precision, recall, f1, accuracy`` (TP/(TP+FP+FN)),
        ``mean_matched_iou`` (mean IoU of the TPs), ``mean_true_iou`` (summed
        TP IoU / n_true), ``panoptic_quality`` (summed TP IoU /
        (TP + FP/2 + FN/2)), ``n_true, n_pred``. As in StarDist, precision,
        recall, f1 and accuracy are 0 when there is no TP, *also when both
        images are empty*; use :func:`aggregate_matches` over a data set so
        empty images simply add nothing.

    Examples
    --------
    >>> gt = np.zeros((10, 10), np.uint16); gt[0:4, 0:4] = 1
    >>> pred = np.zeros_like(gt); pred[0:4, 1:5] = 7
    >>> m = match_instances(pred, gt)
    >>> m["tp"], m["mean_matched_iou"]
    (1, 0.6)
    """
    return _stats(_overlap(pred, gt), _check_thresh(thresh), report_matches)


def match_instances_at(pred, gt, thresholds: Sequence[float] = DSB_THRESHOLDS,
                       report_matches: bool = False) -> list[dict]:
    """:func:`match_instances` at several thresholds, computing the IoUs once.

    Examples
    --------
    >>> gt = np.zeros((10, 10), np.uint16); gt[0:4, 0:4] = 1
    >>> pred = np.zeros_like(gt); pred[0:4, 1:5] = 7
    >>> [m["tp"] for m in match_instances_at(pred, gt, (0.5, 0.7))]
    [1, 0]
    """
    thrs = [_check_thresh(t) for t in thresholds]
    ov = _overlap(pred, gt)
    return [_stats(ov, t, report_matches) for t in thrs]


def average_precision(pred, gt, thresholds: Sequence[float] = DSB_THRESHOLDS) -> float:
    """DSB2018 score: mean over thresholds of the accuracy TP / (TP + FP + FN).

    Examples
    --------
    >>> gt = np.zeros((10, 10), np.uint16); gt[0:4, 0:4] = 1
    >>> average_precision(gt, gt)
    1.0
    """
    return float(np.mean([m["accuracy"] for m in match_instances_at(pred, gt, thresholds)]))


def aggregate_matches(results: Sequence[dict]) -> dict:
    """Pool per-image results at one threshold into data-set scores.

    Counts (TP, FP, FN, n_true, n_pred, summed IoU) are added over images and
    the scores recomputed from the totals, as StarDist's ``matching_dataset``
    with ``by_image=False``.

    Examples
    --------
    >>> gt = np.zeros((10, 10), np.uint16); gt[0:4, 0:4] = 1
    >>> empty = np.zeros_like(gt)
    >>> aggregate_matches([match_instances(gt, gt), match_instances(empty, empty)])["f1"]
    1.0
    """
    if not results:
        raise ValueError("no results to aggregate")
    thrs = {r["thresh"] for r in results}
    if len(thrs) != 1:
        raise ValueError(f"cannot pool results at different thresholds {sorted(thrs)}")
    tot = {k: sum(int(r[k]) for r in results) for k in ("tp", "fp", "fn", "n_true", "n_pred")}
    sum_iou = float(sum(r["mean_matched_iou"] * r["tp"] for r in results))
    return _scores(tot["tp"], tot["fp"], tot["fn"], tot["n_true"], tot["n_pred"], sum_iou, thrs.pop())
