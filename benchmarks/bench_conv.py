"""Convolution and pooling speed vs PyTorch CPU (forward + backward, side by side).

Run: ``python benchmarks/bench_conv.py [--repeat N] [--quick]``. PyTorch comes from
``pip install torch==2.13.0`` (bench extra) and runs with 2 threads; without it
only the bioimg column is printed. Each workload runs forward + backward with
the same inputs and the same output gradient in both libraries; bioimg and
PyTorch samples alternate so machine noise hits both alike; the table shows
medians after warm-up (each sample after a 10 ms pause, so neither library pays
for the other's spin-waiting worker threads) and the ratio bioimg / PyTorch,
plus bioimg's peak traced memory (numpy allocations) during one step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd  # noqa: E402
import autograd.nn  # noqa: E402,F401

IDLE_S = 0.01
WORKLOADS = [
    # name, layer factory (given the library), input shape
    ("conv2d 16->32 3x3 pad1", lambda nn: nn.Conv2d(16, 32, 3, padding=1), (8, 16, 128, 128)),
    ("conv3d 8->16 3x3x3 pad1", lambda nn: nn.Conv3d(8, 16, 3, padding=1), (2, 8, 32, 64, 64)),
    ("maxpool2d 2x2", lambda nn: nn.MaxPool2d(2), (8, 32, 128, 128)),
]


def _torch():
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: `pip install torch==2.13.0` for the reference column")
        return None
    torch.set_num_threads(2)
    return torch


def _step_fn(lib, layer, x_np, gy_np):
    x = lib.tensor(x_np, requires_grad=True)
    gy = lib.tensor(gy_np)
    params = list(layer.parameters())

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        y = layer(x)
        y.backward(gy)
    return step


def _copy_weights(src, dst, torch):
    with torch.no_grad():
        for ps, pd in zip(src.parameters(), dst.parameters()):
            pd.copy_(torch.from_numpy(ps.detach().numpy()))


def _timed(fn) -> float:
    """Seconds for one call, started from idle: both libraries keep worker threads
    spin-waiting for a few ms after their parallel regions, so a short pause keeps
    one library's spinning out of the other's sample."""
    time.sleep(IDLE_S)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(repeat: int, warmup: int, quick: bool):
    torch = _torch()
    rng = np.random.default_rng(0)
    rows = []
    for name, factory, shape in WORKLOADS:
        if quick:
            shape = (max(1, shape[0] // 4),) + shape[1:]
        autograd.manual_seed(0)
        layer = factory(autograd.nn)
        x_np = rng.standard_normal(shape, dtype=np.float32)
        with autograd.no_grad():
            out_shape = layer(autograd.tensor(x_np[:1])).shape[1:]
        gy_np = rng.standard_normal((shape[0],) + tuple(out_shape), dtype=np.float32)
        ours = _step_fn(autograd, layer, x_np, gy_np)
        ref = None
        if torch is not None:
            tlayer = factory(torch.nn)
            _copy_weights(layer, tlayer, torch)
            ref = _step_fn(torch, tlayer, x_np, gy_np)
        for _ in range(warmup):
            ours()
            if ref:
                ref()
        t_ours, t_ref = [], []
        for _ in range(repeat):
            t_ours.append(_timed(ours))
            if ref:
                t_ref.append(_timed(ref))
        peak = _peak_bytes(ours)
        name = f"{name}, {'x'.join(map(str, shape))}"
        rows.append((name, float(np.median(t_ours)), float(np.median(t_ref)) if ref else None, peak))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="quarter batch, for a smoke run")
    args = ap.parse_args(argv)
    rows = run(args.repeat, args.warmup, args.quick)
    print(f"{'workload (forward+backward)':<40} {'bioimg':>10} {'torch':>10} {'ratio':>6} {'peak mem':>9}")
    for name, ours, ref, peak in rows:
        ref_s = f"{ref * 1e3:8.1f}ms" if ref else f"{'-':>10}"
        ratio = f"{ours / ref:6.2f}" if ref else f"{'-':>6}"
        print(f"{name:<40} {ours * 1e3:8.1f}ms {ref_s} {ratio} {peak / 2**20:7.0f}MB")


if __name__ == "__main__":
    main()
