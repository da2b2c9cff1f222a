"""U-Net training step vs PyTorch CPU: time and peak memory, side by side.

The model is written once against the PyTorch API and run on both engines
(``lib`` is ``torch`` or ``autograd``): 2D U-Net, depth 3, base width 16,
Conv-BatchNorm-ReLU blocks, MaxPool, ConvTranspose, skip concatenation,
Adam, 2-class cross-entropy, batch 4x1x256x256.

Run: ``python benchmarks/bench_unet.py [--size 256] [--batch 4]``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_unet(lib, depth=3, base=16):
    nn = lib.nn

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            w = [base * 2 ** i for i in range(depth + 1)]
            self.down = nn.ModuleList([block(1 if i == 0 else w[i - 1], w[i]) for i in range(depth)])
            self.bottom = block(w[depth - 1], w[depth])
            self.ups = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in reversed(range(depth))])
            self.merge = nn.ModuleList([block(2 * w[i], w[i]) for i in reversed(range(depth))])
            self.head = nn.Conv2d(w[0], 2, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            skips = []
            for b in self.down:
                x = b(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for up, m, s in zip(self.ups, self.merge, reversed(skips)):
                x = m(lib.cat([s, up(x)], 1))
            return self.head(x)

    return UNet()


def child(libname: str, size: int, batch: int, steps: int) -> dict:
    if libname == "torch":
        import torch as lib
        lib.set_num_threads(2)
    else:
        sys.path.insert(0, str(ROOT))
        import autograd as lib
    lib.manual_seed(0)
    net = make_unet(lib)
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 1, size, size)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 2, (batch, size, size)).astype(np.int64))
    loss_fn = lib.nn.CrossEntropyLoss()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return float(loss.item())

    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"median_s": float(np.median(times)), "peak_mb": (peak - base_rss) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.batch, args.steps)))
        return
    results = {}
    for lib in ("autograd", "torch"):
        cmd = [sys.executable, __file__, "--child", lib, "--size", str(args.size), "--batch",
               str(args.batch), "--steps", str(args.steps)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={"OMP_NUM_THREADS": "2",
                                                                          "PATH": "/usr/bin:/bin"})
        if proc.returncode != 0:
            print(f"{lib}: failed\n{proc.stderr[-2000:]}")
            continue
        results[lib] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"U-Net training step, {args.batch}x1x{args.size}x{args.size}, Adam, 2-class CE")
    for lib, r in results.items():
        print(f"  {lib:9s} {r['median_s'] * 1e3:8.0f} ms/step   peak memory +{r['peak_mb']:.0f} MB")
    if len(results) == 2:
        a, t = results["autograd"], results["torch"]
        print(f"  ratio bioimg/torch: time {a['median_s'] / t['median_s']:.2f}, "
              f"peak memory {a['peak_mb'] / max(t['peak_mb'], 1):.2f}")


if __name__ == "__main__":
    main()
