"""Large-data benchmarks: chunked diffusion from disk, and distributed batches.

``diffuse``: a ``--depth`` x 2048 x 2048 uint16 stack (noise + a bright box
and ball) is written once as OME-Zarr (in a subprocess), then a fresh
subprocess opens it lazily with :func:`bioimg.io.read`, runs
:func:`bioimg.scale.diffuse_chunked` (chunks 32 x 512 x 512, niter 10) and
streams the float32 result to OME-Zarr with :func:`bioimg.io.write`; its
``ru_maxrss`` is the peak RSS of that work alone (target 2 GB).

``batch``: 16 small ZYX TIFFs through :func:`bioimg.scale.run_batch` on a
``distributed.LocalCluster`` (processes, 1 thread per worker) with 1 and 2
workers; each item reads, runs
:func:`bioimg.preprocess.anisotropic_diffusion` and writes a TIFF.

Usage: ``python benchmarks/bench_scale_batch.py [diffuse|batch|all] [--depth 256]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
TARGET_BYTES = 2e9
SIDE = 2048


def _synthetic_block(block: "np.ndarray", block_info=None) -> "np.ndarray":
    """Noise + a bright box + a ball, from global coordinates (any chunking)."""
    import numpy as np
    loc = block_info[None]["array-location"]
    z, y, x = np.ogrid[tuple(slice(a, b) for a, b in loc)]
    rng = np.random.default_rng(loc[0][0] * 7919 + loc[1][0] * 31 + loc[2][0])
    img = 200.0 + rng.normal(0, 40, block.shape)
    img += 800.0 * ((abs(y - 700) < 300) & (abs(x - 600) < 250) & (z % 64 < 40))
    img += 1200.0 * ((z - 30) ** 2 + (y - 1400) ** 2 + (x - 1400) ** 2 < 350 ** 2)
    return np.clip(img, 0, 65535).astype(np.uint16)


def _make(depth: int, path: str) -> None:
    import dask
    import dask.array as da
    import numpy as np
    from bioimg.io import write
    shape = (depth, SIDE, SIDE)
    lazy = da.zeros(shape, np.uint16, chunks=(16, 512, 512)).map_blocks(_synthetic_block, dtype=np.uint16)
    with dask.config.set(scheduler="threads", num_workers=2):
        write(path, lazy, spacing=(2.0, 0.5, 0.5), unit="micrometer")


def _diffuse(src: str, dst: str, chunks: tuple) -> dict:
    import resource

    import dask
    from bioimg.io import Image, read, write
    from bioimg.scale import diffuse_chunked
    t0 = time.perf_counter()
    img = read(src)
    data = img.data.rechunk(chunks)
    out = diffuse_chunked(data, niter=10, kappa=100.0, gamma=0.05, spacing=img.spacing)
    with dask.config.set(scheduler="threads", num_workers=2):
        write(dst, Image(out, img.axes, img.spacing, img.unit))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "shape": list(img.shape)}


def _sub(args: list[str]) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, __file__, *args], check=False, capture_output=True, text=True, env=env)
    if res.returncode:
        sys.exit(res.stderr)
    lines = res.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def bench_diffuse(depth: int, chunks: tuple = (32, 512, 512)) -> None:
    """Write the stack once, then diffuse it chunk-wise in a fresh subprocess."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        src, dst = str(Path(tmp) / "in.ome.zarr"), str(Path(tmp) / "out.ome.zarr")
        t0 = time.perf_counter()
        _sub(["--make", src, "--depth", str(depth)])
        t_make = time.perf_counter() - t0
        r = _sub(["--diffuse", src, dst, "--chunks", ",".join(map(str, chunks))])
    gb_in = depth * SIDE * SIDE * 2 / 1e9
    ok = "OK" if r["peak_rss"] < TARGET_BYTES else "OVER"
    print(f"diffuse_chunked {r['shape']} uint16 ({gb_in:.2f} GB in, {2 * gb_in:.2f} GB float32 out), "
          f"chunks {chunks}, niter 10, OME-Zarr -> OME-Zarr")
    print(f"  write input      {t_make:8.1f} s (not part of the measurement)")
    extra = "" if depth == 256 else f"; extrapolated to 256 slices: ~{r['seconds'] * 256 / depth:.0f} s"
    print(f"  read+diffuse+write {r['seconds']:6.1f} s  ({r['seconds'] / depth:.3f} s per slice{extra})")
    print(f"  peak RSS         {r['peak_rss'] / 1e9:8.3f} GB  (target 2 GB: {ok})")


def _batch_item(paths: tuple[str, str]) -> str:
    """Read one file, diffuse it (1 thread), write the result."""
    from bioimg.io import read, write
    from bioimg.preprocess import anisotropic_diffusion
    img = read(paths[0])
    out = anisotropic_diffusion(img.data, niter=10, kappa=100.0, gamma=0.05, spacing=img.spacing, workers=1)
    write(paths[1], img.with_data(out))
    return paths[1]


def bench_batch(n: int = 16, shape: tuple = (64, 256, 256)) -> None:
    """1 vs 2 LocalCluster workers (processes, 1 thread each) on ``n`` files."""
    import numpy as np
    from distributed import Client, LocalCluster

    from bioimg.io import write
    from bioimg.scale import run_batch
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        items = []
        for i in range(n):
            src = Path(tmp) / f"in{i:02d}.tif"
            write(src, rng.normal(500, 50, shape).astype(np.uint16), spacing=(2.0, 0.5, 0.5), unit="micrometer")
            items.append((str(src), str(Path(tmp) / f"out{i:02d}.tif")))
        times = {}
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                run_batch(items[:workers], _batch_item, scheduler=client)  # warm-up: imports
                t0 = time.perf_counter()
                res = run_batch(items, _batch_item, scheduler=client)
                times[workers] = time.perf_counter() - t0
                failed = [r.error for r in res if not r.ok]
                if failed:
                    sys.exit(f"batch failed: {failed[0]}")
    print(f"run_batch on LocalCluster: {n} files {shape} uint16, read + anisotropic_diffusion(niter 10) + write")
    print(f"  1 worker   {times[1]:7.2f} s")
    print(f"  2 workers  {times[2]:7.2f} s   speed-up x{times[1] / times[2]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["diffuse", "batch", "all"])
    parser.add_argument("--depth", type=int, default=256, help="slices of the 2048x2048 stack")
    parser.add_argument("--chunks", default="32,512,512")
    parser.add_argument("--make", help=argparse.SUPPRESS)
    parser.add_argument("--diffuse", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chunks = tuple(int(c) for c in args.chunks.split(","))
    if args.make:
        _make(args.depth, args.make)
    elif args.diffuse:
        print(json.dumps(_diffuse(*args.diffuse, chunks)))
    else:
        if args.what in ("diffuse", "all"):
            bench_diffuse(args.depth, chunks)
        if args.what in ("batch", "all"):
            bench_batch()


if __name__ == "__main__":
    main()
