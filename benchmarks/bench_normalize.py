"""Benchmark: exact percentile normalisation vs calling ``np.percentile`` twice.

Run ``python benchmarks/bench_normalize.py [--reps N]``. On a 64x512x512
stack (uint16, int16 and float32), times
:func:`bioimg.preprocess.normalize_percentile` (percentiles + float32 output)
and its percentile step alone against ``np.percentile(x, 1.0)`` plus
``np.percentile(x, 99.8)``, checks that the percentiles are identical, and
prints the ratios (target: <= 0.2 for integer images).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bioimg.preprocess import normalize_percentile
from bioimg.preprocess._percentile import percentiles

PMIN, PMAX = 1.0, 99.8


def make_stack(dtype, shape=(64, 512, 512), seed=0) -> np.ndarray:
    """Microscopy-like counts: dim background, bright blobs, Poisson-ish noise."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(4.0, 100.0, shape)
    base[:, 100:200, 150:300] += 3000
    if np.dtype(dtype).kind == "i":
        base -= 1000  # negative values too
    return np.clip(base, np.iinfo(dtype).min if np.dtype(dtype).kind in "iu" else -np.inf,
                   np.iinfo(dtype).max if np.dtype(dtype).kind in "iu" else np.inf).astype(dtype)


def best_of(func, reps: int) -> float:
    func()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    for dtype in (np.uint16, np.int16, np.float32):
        x = make_stack(dtype)
        expected = [float(np.percentile(x, PMIN)), float(np.percentile(x, PMAX))]
        got = percentiles(x, [PMIN, PMAX])
        t_np = best_of(lambda: (np.percentile(x, PMIN), np.percentile(x, PMAX)), args.reps)
        t_pct = best_of(lambda: percentiles(x, [PMIN, PMAX]), args.reps)
        t_norm = best_of(lambda: normalize_percentile(x, PMIN, PMAX), args.reps)
        print(f"{x.shape} {np.dtype(dtype).name}: np.percentile x2 {t_np * 1e3:7.1f} ms | "
              f"percentiles {t_pct * 1e3:6.1f} ms (ratio {t_pct / t_np:.3f}) | "
              f"normalize_percentile {t_norm * 1e3:6.1f} ms (ratio {t_norm / t_np:.3f}) | "
              f"exact: {got == expected}")


if __name__ == "__main__":
    main()
