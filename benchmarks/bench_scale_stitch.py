"""Tiled vs untiled instance labels on a mosaic of the nuclei sample: F1@0.5 between them.

The nuclei sample (512 x 256, 73 hand-drawn nuclei) is mirrored into a
``--reps`` x ``--reps`` mosaic. Two sources of probabilities:

* ``labels``: (background, interior, boundary) maps made from the hand-drawn
  masks (what a good model gives), stitched by
  :func:`bioimg.inference.instances_blockwise` with small blocks vs labelled in
  one piece by :func:`bioimg.inference.instances_from_probs`;
* ``model``: a 1x1-convolution "model" (bright = interior) through
  :func:`bioimg.inference.predict` with small tiles and small instance blocks vs
  one tile and one block.

Target: F1@0.5 >= 0.99 (tiled vs untiled). Usage:
``python benchmarks/bench_scale_stitch.py [--reps 4] [--block 128] [--halo 32]``
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests" / "bioimg")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--halo", type=int, default=32)
    args = ap.parse_args()
    import numpy as np
    import tifffile

    from bioimg.inference import instances_blockwise, instances_from_probs, predict
    from bioimg.metrics import match_instances
    from test_instance_stitch import _pointwise_instance_model, _probs_from_labels

    img = tifffile.imread(ROOT / "sample_data" / "nuclei2d_image.tif")
    lab = tifffile.imread(ROOT / "sample_data" / "nuclei2d_labels.tif").astype(np.int64)
    rows_i, rows_l = [], []
    for r in range(args.reps):
        ri, rl = [], []
        for c in range(args.reps):
            sl = (slice(None, None, -1 if r % 2 else 1), slice(None, None, -1 if c % 2 else 1))
            ri.append(img[sl])
            rl.append(np.where(lab[sl] > 0, lab[sl] + 1000 * (r * args.reps + c), 0))
        rows_i.append(np.concatenate(ri, 1))
        rows_l.append(np.concatenate(rl, 1))
    image, gt = np.concatenate(rows_i, 0), np.concatenate(rows_l, 0)
    probs = _probs_from_labels(gt)
    t0 = time.perf_counter()
    whole = instances_from_probs(probs, min_size=10)
    t1 = time.perf_counter()
    out = np.zeros(gt.shape, np.uint32)
    instances_blockwise(probs, out, block=args.block, halo=args.halo, min_size=10)
    t2 = time.perf_counter()
    m = match_instances(out, whole, 0.5)
    print(f"mosaic {image.shape[0]}x{image.shape[1]}, {whole.max()} objects; blocks {args.block} px, halo "
          f"{args.halo} px")
    print(f"  labels-derived probabilities: F1@0.5 tiled vs untiled {m['f1']:.4f} (fp {m['fp']}, fn {m['fn']}); "
          f"time {t2 - t1:.1f} s blockwise vs {t1 - t0:.1f} s whole")
    model = _pointwise_instance_model()
    untiled = predict(model, image, tile=image.shape, instance_block=max(image.shape), min_size=30)
    tiled = predict(model, image, tile=64, overlap=16, instance_block=args.block, instance_halo=args.halo,
                    min_size=30)
    m = match_instances(tiled.labels, untiled.labels, 0.5)
    print(f"  predict (1x1 model), tiles 64 + blocks {args.block} vs one tile + one block: F1@0.5 "
          f"{m['f1']:.4f} ({untiled.labels.max()} objects)")


if __name__ == "__main__":
    main()
