"""Timing helpers shared by the benchmark scripts (median of repeated runs)."""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")


def timeit(fn, repeat: int = 7, warmup: int = 2, number: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds (``number`` calls per sample)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    samples.sort()
    return samples[len(samples) // 2]


def try_torch():
    """Import PyTorch CPU (bench extra) with 2 threads, or None when absent."""
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: `pip install torch==2.13.0` for the reference column")
        return None
    torch.set_num_threads(2)
    return torch


def table(rows, headers=("workload", "bioimg", "torch", "ratio")) -> str:
    """Format result rows (workload, ours_s, ref_s or None) as a text table with ratios."""
    out = [f"{headers[0]:<44} {headers[1]:>12} {headers[2]:>12} {headers[3]:>7}"]
    for name, ours, ref in rows:
        ref_s = f"{ref * 1e3:10.3f}ms" if ref else "         -"
        ratio = f"{ours / ref:7.2f}" if ref else "      -"
        out.append(f"{name:<44} {ours * 1e3:10.3f}ms {ref_s} {ratio}")
    return "\n".join(out)
