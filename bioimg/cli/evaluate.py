"""``bioimg evaluate PRED GT``: score predicted labels against ground truth.

Instance matching (StarDist / DSB2018 semantics) by default, per-class IoU
and Dice with ``--semantic``. PRED and GT are two files or two folders; in
folders, files are paired by name (extension aside, so ``a.tif`` pairs with
``a.tiff``), each pair is reported and then the pooled total.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
from pathlib import Path

import numpy as np

from bioimg.cli import CLIError

# What bioimg.io reads, longest first so "a.ome.tif" pairs as "a".
_EXTENSIONS = (".ome.tiff", ".ome.tif", ".nii.gz", ".tiff", ".tif", ".btf", ".tf8", ".tf2", ".lsm",
               ".stk", ".nii", ".dcm", ".dicom", ".ima")
_INSTANCE_COLUMNS = ("image", "thresh", "tp", "fp", "fn", "precision", "recall", "f1",
                     "accuracy", "mean_matched_iou", "panoptic_quality")
_TOTAL = "(all)"


def register(subparsers) -> None:
    """Add the ``evaluate`` sub-parser."""
    p = subparsers.add_parser(
        "evaluate", help="score predicted labels against ground truth",
        description="Score predicted label images against ground truth: instance matching at IoU "
                    "thresholds (precision, recall, F1, accuracy, mean matched IoU, panoptic quality) "
                    "or per-class IoU/Dice. PRED and GT are two files, or two folders paired by file name.")
    p.add_argument("pred", metavar="PRED", help="predicted label image, or a folder of them")
    p.add_argument("gt", metavar="GT", help="ground-truth label image, or a folder of them")
    thr = p.add_mutually_exclusive_group()
    thr.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7], metavar="T",
                     help="IoU thresholds for a true positive (default: 0.5 0.7)")
    thr.add_argument("--all-thresholds", action="store_true",
                     help="use 0.50, 0.55, ..., 0.95 and report the DSB2018 average precision")
    p.add_argument("--semantic", action="store_true",
                   help="report per-class IoU/Dice instead of instance matching")
    p.add_argument("--instance", action="store_true",
                   help="with --semantic: report instance matching as well")
    p.add_argument("--num-classes", type=int, default=None, metavar="K",
                   help="--semantic: number of classes (default: from the data)")
    p.add_argument("--ignore-index", type=int, default=None, metavar="V",
                   help="--semantic: ground-truth value to leave out")
    p.add_argument("--stack", action="store_true",
                   help="read a folder as one image (TIFF slices / DICOM series), not as a batch")
    p.add_argument("--json", metavar="OUT", default=None, help="also write all metrics to this JSON file")
    p.set_defaults(func=run)


def _stem(path: Path) -> str | None:
    name = path.name.lower()
    for ext in _EXTENSIONS:
        if name.endswith(ext):
            return path.name[: len(path.name) - len(ext)]
    return None


def _folder_images(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        stem = _stem(f)
        if f.name.startswith(".") or not f.is_file() or stem is None:
            continue
        if stem in found:
            raise CLIError(f"'{found[stem].name}' and '{f.name}' in {folder} have the same name")
        found[stem] = f
    return found


def _pairs(pred: Path, gt: Path, stack: bool) -> list[tuple[str, Path, Path]]:
    for label, path in (("PRED", pred), ("GT", gt)):
        if not path.exists():
            raise CLIError(f"{label} '{path}' does not exist")
    if stack or not (pred.is_dir() or gt.is_dir()):
        return [(pred.name, pred, gt)]
    if pred.is_dir() != gt.is_dir():
        raise CLIError("PRED and GT must both be files or both be folders (or pass --stack)")
    preds, gts = _folder_images(pred), _folder_images(gt)
    common = sorted(preds.keys() & gts.keys())
    if not common:
        raise CLIError(f"no image file names in common between {pred} and {gt}")
    for label, only in (("GT", preds.keys() - gts.keys()), ("PRED", gts.keys() - preds.keys())):
        if only:
            print(f"bioimg evaluate: warning: no {label} for {', '.join(sorted(only))}; skipped",
                  file=sys.stderr)
    return [(preds[s].name, preds[s], gts[s]) for s in common]


def _load_pair(name: str, pred_path: Path, gt_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from bioimg.io import read

    pred, gt = read(pred_path).data, read(gt_path).data
    # A singleton axis (e.g. C=1 or Z=1 written by another tool) is no reason
    # to refuse a comparison; any other difference is.
    if np.squeeze(pred).shape != np.squeeze(gt).shape:
        raise CLIError(f"{name}: shapes {pred.shape} and {gt.shape} differ")
    return np.asarray(np.squeeze(pred)), np.asarray(np.squeeze(gt))


def _pad(cm: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, k), np.int64)
    out[: cm.shape[0], : cm.shape[1]] = cm
    return out


def _semantic_summary(cm: np.ndarray, ignore_index: int | None) -> dict:
    from bioimg.metrics import dice_from_confusion, iou_from_confusion

    iou, dice = iou_from_confusion(cm), dice_from_confusion(cm)
    keep = [k for k in range(len(iou)) if k != ignore_index]

    def nanmean(v: np.ndarray) -> float:
        v = v[keep]
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else math.nan

    return {"num_classes": len(iou), "iou": {k: float(iou[k]) for k in keep},
            "dice": {k: float(dice[k]) for k in keep},
            "mean_iou": nanmean(iou), "mean_dice": nanmean(dice)}


def _semantic_rows(image: str, summary: dict) -> list[dict]:
    rows = [{"image": image, "class": str(k), "iou": v, "dice": summary["dice"][k]}
            for k, v in summary["iou"].items()]
    rows.append({"image": image, "class": "mean", "iou": summary["mean_iou"], "dice": summary["mean_dice"]})
    return rows


def _json_safe(obj):
    # Strict JSON has no NaN/Infinity: undefined scores become null.
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _write_json(path: Path, report: dict) -> None:
    """Write next to the target, then rename: readers never see a partial file."""
    text = json.dumps(_json_safe(report), indent=2, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _comparable(name: str, pred: np.ndarray, gt: np.ndarray, do_instance: bool,
                do_semantic: bool) -> tuple[tuple, tuple]:
    """The (pred, gt) pairs to match as instances and to score per class.

    A class mask against instance ids (or the reverse) is binarized, with a
    warning: instance matching compares connected foreground regions, the
    per-class scores compare foreground with background. Id by id it would
    report TP 0 / FP 2 / FN 73, or one row per object.
    """
    from bioimg.metrics import as_instances, foreground, label_kind

    kinds = {"PRED": label_kind(pred), "GT": label_kind(gt)}
    if set(kinds.values()) != {"classes", "instances"}:
        return (pred, gt), (pred, gt)
    which = "PRED" if kinds["PRED"] == "classes" else "GT"
    other = "GT" if which == "PRED" else "PRED"
    how = [w for w, on in (("instance matching uses its connected foreground regions as objects", do_instance),
                           ("per-class scores compare foreground with background", do_semantic)) if on]
    print(f"bioimg evaluate: warning: {name}: {which} holds classes but {other} holds object ids; "
          + "; ".join(how), file=sys.stderr)
    binary = tuple(foreground(a)[0].astype(np.uint8) for a in (pred, gt))
    return (as_instances(pred), as_instances(gt)), binary


def run(args: argparse.Namespace) -> int:
    """Evaluate PRED against GT, print tables, optionally write JSON; return 0."""
    from bioimg.metrics import (
        DSB_THRESHOLDS, aggregate_matches, format_table, match_instances_at,
        segmentation_confusion_matrix)

    thresholds = tuple(DSB_THRESHOLDS if args.all_thresholds else args.thresholds)
    bad = [t for t in thresholds if not 0.0 <= t <= 1.0]
    if bad:
        raise CLIError(f"IoU thresholds must be in [0, 1], got {bad[0]}")
    do_instance, do_semantic = (not args.semantic) or args.instance, args.semantic
    pairs = _pairs(Path(args.pred), Path(args.gt), args.stack)
    images, inst_rows, sem_rows, cms = [], [], [], []
    for name, pred_path, gt_path in pairs:
        pred, gt = _load_pair(name, pred_path, gt_path)
        record: dict = {"name": name, "pred": str(pred_path), "gt": str(gt_path)}
        try:
            inst_pair, sem_pair = _comparable(name, pred, gt, do_instance, do_semantic)
            if do_instance:
                record["instance"] = match_instances_at(*inst_pair, thresholds)
                inst_rows += [{"image": name, **m} for m in record["instance"]]
                if args.all_thresholds:
                    record["average_precision"] = float(np.mean([m["accuracy"] for m in record["instance"]]))
            if do_semantic:
                cm = segmentation_confusion_matrix(*sem_pair, args.num_classes, args.ignore_index)
                cms.append(cm)
                record["semantic"] = _semantic_summary(cm, args.ignore_index)
                sem_rows += _semantic_rows(name, record["semantic"])
        except ValueError as exc:  # label errors: say which file pair
            raise CLIError(f"{name}: {exc}") from exc
        images.append(record)

    report: dict = {"pred": args.pred, "gt": args.gt, "thresholds": list(thresholds), "images": images}
    if len(images) > 1:
        total: dict = {}
        if do_instance:
            total["instance"] = [aggregate_matches([im["instance"][i] for im in images])
                                 for i in range(len(thresholds))]
            inst_rows += [{"image": _TOTAL, **m} for m in total["instance"]]
            if args.all_thresholds:
                total["average_precision"] = float(np.mean([m["accuracy"] for m in total["instance"]]))
        if do_semantic:
            k = max(cm.shape[0] for cm in cms)
            total["semantic"] = _semantic_summary(sum(_pad(cm, k) for cm in cms), args.ignore_index)
            sem_rows += _semantic_rows(_TOTAL, total["semantic"])
        report["total"] = total

    if args.json:
        _write_json(Path(args.json), report)

    sections = []
    if do_instance:
        for row in inst_rows:
            t = row["thresh"]
            row["thresh"] = f"{t:.2f}" if round(t, 2) == t else f"{t:g}"
        sections.append("Instance matching (IoU >= thresh)\n" + format_table(inst_rows, _INSTANCE_COLUMNS))
        if args.all_thresholds:
            ap_rows = [{"image": im["name"], "average_precision": im["average_precision"]} for im in images]
            if len(images) > 1:
                ap_rows.append({"image": _TOTAL, "average_precision": report["total"]["average_precision"]})
            sections.append("DSB2018 average precision (mean accuracy over IoU 0.50:0.95)\n"
                            + format_table(ap_rows))
    if do_semantic:
        sections.append("Per-class IoU and Dice\n" + format_table(sem_rows, ("image", "class", "iou", "dice")))
    print("\n\n".join(sections))
    return 0
