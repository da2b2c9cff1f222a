"""Streaming prediction of a large 2D image into zarr: peak RSS and time.

The real sample ``sample_data/nuclei2d_image.tif`` is tiled with ``np.tile``
to ``--size`` x ``--size`` pixels, written as an uncompressed TIFF to a temp
dir, opened with :func:`bioimg.scale.read_lazy` and predicted with an
untrained U-Net (depth 3, base width 16) by
:func:`bioimg.scale.predict_to_zarr`. The work runs in a fresh subprocess so
``ru_maxrss`` is the peak of the prediction alone (target: 1.5 GB).

Usage: ``python benchmarks/bench_scale.py [--size 8192] [--tile 256]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parents[1]
TARGET_BYTES = 1.5e9


def _worker(size: int, tile: int, tmp: str) -> dict:
    """Build the image (not timed), stream the prediction, report peak RSS and times."""
    import resource
    import time

    import tifffile

    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo
    from bioimg.models import UNet
    from bioimg.scale import predict_to_zarr, read_lazy

    sample = tifffile.imread(ROOT / "sample_data" / "nuclei2d_image.tif")
    sample = sample.reshape(sample.shape[-2:]) if sample.ndim > 2 else sample
    path = Path(tmp) / "big.tif"
    with tifffile.TiffWriter(path, bigtiff=True) as tw:  # written strip by strip
        tw.write(strips_gen(sample, size), shape=(size, size), dtype=sample.dtype,
                 rowsperstrip=64)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    torch.manual_seed(0)
    net = UNet(1, 2, depth=3, base_width=16)
    info = ModelInfo(task="segment", architecture="unet", config=net.config, axes="YX",
                     patch_size=[tile // 2] * 2,
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["background", "nuclei"])
    img = read_lazy(path)
    t0 = time.perf_counter()
    out = predict_to_zarr(BioimgModel(net, info), img, Path(tmp) / "pred.zarr",
                          tile=tile, overlap=tile // 8)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"size": size, "tile": tile, "seconds": seconds, "peak_rss": peak,
            "rss_before_predict": rss_before, "out_shape": list(out.shape),
            "image_bytes": int(size * size * sample.dtype.itemsize),
            "in_memory_accumulators": int(3 * size * size * 4)}


def strips_gen(sample, size: int):
    """Row strips (64 rows each) of ``np.tile(sample)`` cropped to ``size`` x ``size``."""
    import numpy as np
    reps = -(-size // sample.shape[1])
    row = np.tile(sample, (1, reps))[:, :size]
    y = 0
    while y < size:
        for k in range(0, sample.shape[0], 64):
            if y >= size:
                return
            part = row[k:min(k + 64, sample.shape[0], k + size - y)]
            yield part
            y += part.shape[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.size, args.tile, args.worker)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--size", str(args.size), "--tile", str(args.tile),
               "--worker", tmp]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
        if res.returncode:
            sys.exit(res.stderr)
        r = json.loads(res.stdout.strip().splitlines()[-1])
    ok = "OK" if r["peak_rss"] < TARGET_BYTES else "OVER"
    print(f"streaming predict_to_zarr {r['size']}x{r['size']} uint16, tile {r['tile']}, "
          f"U-Net depth 3 / width 16")
    print(f"  time            {r['seconds']:8.1f} s")
    print(f"  peak RSS        {r['peak_rss'] / 1e9:8.3f} GB  (target 1.5 GB: {ok}; "
          f"{r['rss_before_predict'] / 1e9:.3f} GB before predicting)")
    print(f"  for scale       image {r['image_bytes'] / 1e9:.3f} GB, in-memory float32 "
          f"logits+weight+probs {r['in_memory_accumulators'] / 1e9:.3f} GB")


if __name__ == "__main__":
    main()
