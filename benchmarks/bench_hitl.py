"""Human in the loop on the nuclei sample: correct the worst objects and fine-tune, vs. from scratch.

Data: ``sample_data/nuclei2d`` (BBBC038, 73 hand-drawn nuclei, 512x256). Rows 0-383 (top 75 %)
are the training field, rows 384-511 (bottom 25 %) are only scored.

- loop: an instance model trained ``--seconds`` on a small top-left corner (``--corner`` px, its
  ground truth painted by the user); then ``--rounds`` rounds of: predict the training field,
  the simulated user corrects the ``--worst`` worst objects from the ground truth (missed or
  badly outlined nuclei are painted in with their true outline, a merge is split into the
  nuclei it covered, false objects are erased; what they fixed in earlier rounds and the corner
  they painted stay as they left them), and the
  model is fine-tuned ``--seconds`` from the current model (``init=``) on the corrected
  prediction, corrected pixels weighted higher and uncorrected predicted outlines left out
  (``corrections=``); round r's peak learning rate is ``--lr`` / r. "fixed" counts the objects corrected so far.
- scratch: one run from scratch on the same corner for the loop's total training time.

F1 at IoU 0.5 / 0.7 on the bottom quarter after each round. The time budgets are wall time, so
the numbers move a little with the machine's load.

Run: ``python benchmarks/bench_hitl.py [--seconds 30] [--rounds 3] [--worst 10] [--corner 128]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bioimg.inference import predict  # noqa: E402
from bioimg.io import read  # noqa: E402
from bioimg.metrics import match_instances  # noqa: E402
from bioimg.training import TrainConfig, Trainer  # noqa: E402
from bioimg.training.corrections import corrected_mask  # noqa: E402

SPLIT = 384


def load():
    img = np.asarray(read(ROOT / "sample_data" / "nuclei2d_image.tif").data)
    gt = np.asarray(read(ROOT / "sample_data" / "nuclei2d_labels.tif").data).astype(np.int32)
    return img, gt


def config(seconds: float, seed: int, lr: float = 3e-3, steps: int = 0) -> TrainConfig:
    """``steps``: a step budget instead of the time budget (load-independent, bit-reproducible)."""
    return TrainConfig(task="instance", time_budget=None if steps else seconds,
                       epochs=-(-steps // 20) if steps else 100_000, steps_per_epoch=20,
                       patch_size=(64, 64), batch_size=4, lr=lr, seed=seed,
                       model_kwargs=dict(depth=2, base_width=8))


def score(model, img, gt) -> tuple[float, float, int]:
    pred = np.asarray(predict(model, img[SPLIT:]).labels)
    return (match_instances(pred, gt[SPLIT:], 0.5)["f1"], match_instances(pred, gt[SPLIT:], 0.7)["f1"],
            len(np.unique(pred)) - 1)


def worst_objects(pred: np.ndarray, gt: np.ndarray, n: int, done: set) -> tuple[list, list]:
    """The ``n`` worst objects the user has not fixed yet: ground-truth nuclei by their best IoU with
    a prediction, and predicted objects that match no nucleus (IoU < 0.1) scored 0."""
    gt_scores = []
    for g in np.unique(gt)[1:]:
        if int(g) in done:
            continue
        m = gt == g
        ids, counts = np.unique(pred[m], return_counts=True)
        best = 0.0
        for pid, inter in zip(ids, counts):
            if pid:
                best = max(best, inter / float(np.count_nonzero(m | (pred == pid))))
        gt_scores.append((best, "gt", int(g)))
    fp = []
    for p in np.unique(pred)[1:]:
        m = pred == p
        ids, counts = np.unique(gt[m], return_counts=True)
        best = max([c / float(np.count_nonzero(m | (gt == g))) for g, c in zip(ids, counts) if g] or [0.0])
        if best < 0.1:
            fp.append((0.0, "fp", int(p)))
    ranked = sorted(gt_scores + fp)[:n]
    return [i for s, k, i in ranked if k == "gt" and s < 0.9], [i for _, k, i in ranked if k == "fp"]


class User:
    """The simulated user: corrects the worst objects of each prediction from the ground truth and
    keeps what they fixed in earlier rounds (as a person editing the same Labels layer would)."""

    def __init__(self, gt: np.ndarray, corner: int) -> None:
        self.gt, self.done = gt, set()
        self.mine = np.zeros(gt.shape, bool)  # pixels the user drew or erased: their word is final
        self.mine[:corner, :corner] = True    # the corner they painted first
        self.done.update(int(i) for i in np.unique(gt[:corner, :corner]) if i)

    def correct(self, pred: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        gt = self.gt
        bad_gt, bad_pred = worst_objects(pred, gt, n, self.done)
        for p in bad_pred:  # false objects: erased
            self.mine |= pred == p
        redo = set(bad_gt)
        for g in bad_gt:
            for p in np.unique(pred[gt == g]):
                if p:  # a wrong outline goes; a merge is split into the nuclei it covered
                    redo.update(int(i) for i in np.unique(gt[pred == p]) if i)
                    self.mine |= pred == p
        for g in redo:
            self.mine |= gt == g
        self.done |= redo
        fixed = pred.copy()
        touched = np.unique(pred[self.mine])
        fixed[np.isin(fixed, touched[touched > 0])] = 0  # predicted objects in the user's areas go
        fixed[self.mine] = 0
        nxt = int(fixed.max()) + 1
        for g in sorted(self.done):
            fixed[gt == g] = nxt + g
        return fixed, len(redo) + len(bad_pred)


def train(images, labels, seconds, seed, init=None, corrections=None, lr=3e-3, steps=0):
    t = Trainer([images], [labels], config(seconds, seed, lr, steps), init=init, corrections=corrections)
    events = list(t.run())
    return t.result, events[-1].step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worst", type=int, default=10)
    ap.add_argument("--corner", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0,
                    help="a step budget per round instead of --seconds (the same for every load)")
    ap.add_argument("--lr", type=float, default=3e-3,
                    help="peak learning rate of fine-tuning round 1 (round r: lr / r, smaller steps as "
                    "the model gets closer)")
    args = ap.parse_args(argv)
    img, gt = load()
    field, field_gt = img[:SPLIT], gt[:SPLIT]
    c = args.corner
    print(f"nuclei2d {img.shape}: train on rows 0-{SPLIT - 1} (corner {c}x{c}: "
          f"{len(np.unique(gt[:c, :c])) - 1} nuclei), score rows {SPLIT}-{img.shape[0] - 1} "
          f"({len(np.unique(gt[SPLIT:])) - 1} nuclei)")
    rows = []
    budget = f"{args.steps} steps" if args.steps else f"{args.seconds:.0f} s"
    t0 = time.perf_counter()
    model, steps = train(img[:c, :c], gt[:c, :c], args.seconds, args.seed, steps=args.steps)
    f5, f7, n = score(model, img, gt)
    rows.append(("loop", "corner", args.seconds, steps, 0, f5, f7, n))
    print(f"round 0 (corner, {budget}{'' if args.steps else f', {steps} steps'}): F1@0.5 {f5:.3f}  F1@0.7 {f7:.3f}", flush=True)
    fixed_total = 0
    user = User(field_gt, c)
    for r in range(1, args.rounds + 1):
        pred = np.asarray(predict(model, field).labels).astype(np.int32)
        labels, fixed = user.correct(pred, args.worst)
        fixed_total += fixed
        mask = corrected_mask(labels, pred, objects=True) | user.mine
        model, steps = train(field, labels, args.seconds, args.seed + r, init=model,
                             corrections=[mask], lr=args.lr / r, steps=args.steps)
        f5, f7, n = score(model, img, gt)
        rows.append(("loop", f"round {r}", args.seconds, steps, fixed_total, f5, f7, n))
        print(f"round {r} ({fixed} objects corrected, {fixed_total} in all; fine-tune {budget}"
              f"{'' if args.steps else f', {steps} steps'}): F1@0.5 {f5:.3f}  F1@0.7 {f7:.3f}", flush=True)
    loop_s = time.perf_counter() - t0
    total = args.seconds * (args.rounds + 1)
    model, steps = train(img[:c, :c], gt[:c, :c], total, args.seed, steps=args.steps * (args.rounds + 1))
    f5s, f7s, n = score(model, img, gt)
    rows.append(("scratch", "corner", total, steps, 0, f5s, f7s, n))
    print(f"from scratch (corner, {steps} steps): F1@0.5 {f5s:.3f}  F1@0.7 {f7s:.3f}")
    print()
    print(f"{'run':<8} {'stage':<9} {'train s':>7} {'steps':>6} {'fixed':>6} {'F1@0.5':>7} {'F1@0.7':>7} "
          f"{'objects':>7}")
    for run, stage, s, st, fx, a, b, k in rows:
        shown = "-" if args.steps else f"{s:.0f}"  # a step budget: time is not the yardstick
        print(f"{run:<8} {stage:<9} {shown:>7} {st:6d} {fx:6d} {a:7.3f} {b:7.3f} {k:7d}")
    last = rows[-2]
    verdict = "beats" if (last[5], last[6]) > (f5s, f7s) and last[5] >= f5s else "does NOT beat"
    same = "number of steps" if args.steps else "training time"
    print(f"\nloop ({loop_s:.0f} s wall incl. predictions) {verdict} from scratch at the same {same}")
    return 0 if verdict == "beats" else 1


if __name__ == "__main__":
    raise SystemExit(main())
