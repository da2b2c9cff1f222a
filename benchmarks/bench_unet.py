"""Whole U-Net vs PyTorch CPU: training step and inference, 2D and 3D, time and peak memory.

The bioimg network is ``bioimg.models.UNet`` (Conv-BatchNorm-ReLU x2 per level,
MaxPool, ConvTranspose, skip concatenation, 1x1 head); its PyTorch twin is built
here with the same architecture and the same weights (checked: the outputs agree).
Training: Adam (lr 1e-3), 2-class cross-entropy. Inference: eval mode, no grad.

Times are taken in ONE process, bioimg and PyTorch interleaved round by round
(the machine is shared and noisy): each workload prints the median time of each
and the median, min and max of the per-round ratios bioimg / torch (lower is
faster). Peak memory is the rise of the peak RSS (``VmHWM``, reset before the
steps) over a fresh subprocess's first two steps, the same way for both engines.

Run (as users run it: OpenBLAS picks its own kernel)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_unet.py
    [--rounds 5] [--only 3d-train,2d-infer] [--no-memory]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name: (ndim, depth, width, input shape, train)
WORKLOADS = {
    "3d-train": (3, 2, 16, (2, 1, 32, 64, 64), True),
    "2d-train": (2, 3, 16, (4, 1, 256, 256), True),
    "2d-infer": (2, 3, 16, (1, 1, 512, 512), False),
    "3d-infer": (3, 2, 16, (1, 1, 64, 128, 128), False),
}


def blas_kernel() -> str:
    """numpy's BLAS library, version and CPU kernel (threadpoolctl, else OpenBLAS's own call)."""
    try:
        from threadpoolctl import threadpool_info
        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            i = info[0]
            return f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')} " \
                   f"({i.get('num_threads')} threads)"
    except ImportError:
        pass
    import ctypes
    with open("/proc/self/maps") as f:
        libs = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(lib, name):
                fn = getattr(lib, name)
                fn.restype = ctypes.c_char_p
                return f"openblas kernel {fn().decode()} (threadpoolctl not installed)"
    return "unknown BLAS"


def torch_unet(torch, ndim: int, depth: int, width: int, out: int = 2):
    """PyTorch twin of ``bioimg.models.UNet`` (same module names, so state dicts match)."""
    nn = torch.nn
    conv, bn = (nn.Conv2d, nn.BatchNorm2d) if ndim == 2 else (nn.Conv3d, nn.BatchNorm3d)
    convt, pool = (nn.ConvTranspose2d, nn.MaxPool2d) if ndim == 2 else (nn.ConvTranspose3d, nn.MaxPool3d)

    def block(cin, cout):
        return nn.Sequential(conv(cin, cout, 3, padding=1, bias=False), bn(cout), nn.ReLU(),
                             conv(cout, cout, 3, padding=1, bias=False), bn(cout), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            w = [width * 2 ** i for i in range(depth + 1)]
            self.down = nn.ModuleList([block(1 if i == 0 else w[i - 1], w[i]) for i in range(depth)])
            self.pool = pool(2)
            self.bottom = block(w[depth - 1], w[depth])
            self.up = nn.ModuleList([convt(w[i + 1], w[i], 2, stride=2) for i in reversed(range(depth))])
            self.merge = nn.ModuleList([block(2 * w[i], w[i]) for i in reversed(range(depth))])
            self.head = conv(w[0], out, 1)

        def forward(self, x):
            skips = []
            for b in self.down:
                x = b(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for up, m, s in zip(self.up, self.merge, reversed(skips)):
                x = m(torch.cat([s, up(x)], 1))
            return self.head(x)

    return UNet()


def make_runner(libname: str, name: str, src_state=None):
    """(step function, model) for one engine and workload; ``src_state``: weights to copy in."""
    ndim, depth, width, shape, train = WORKLOADS[name]
    rng = np.random.default_rng(0)
    xa = rng.standard_normal(shape).astype(np.float32)
    ya = rng.integers(0, 2, (shape[0],) + shape[2:]).astype(np.int64)
    if libname == "torch":
        import torch as lib
        lib.set_num_threads(2)
        net = torch_unet(lib, ndim, depth, width)
        if src_state is not None:
            net.load_state_dict({k: lib.from_numpy(np.array(v)) for k, v in src_state.items()})
    else:
        import autograd as lib
        from bioimg.models import UNet
        lib.manual_seed(0)
        net = UNet(1, 2, ndim=ndim, depth=depth, base_width=width, norm="batch")
    x, y = lib.from_numpy(xa), lib.from_numpy(ya)
    if train:
        net.train()
        opt = lib.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = lib.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            return float(loss.item())
    else:
        net.eval()

        def step():
            with lib.no_grad():
                return float(net(x).sum().item())
    return step, net


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+)", f.read(), re.M).group(1))


def memory_child(libname: str, name: str) -> dict:
    """Peak RSS rise over two steps, from the resident size once model and data exist.

    The kernel's high-water mark is reset first (``clear_refs`` 5), so the
    transient peak of importing the engine does not hide the step's.
    """
    step, _ = make_runner(libname, name)
    import gc
    gc.collect()
    base = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    step()
    step()
    return {"peak_mb": (_status_kb("VmHWM") - base) / 1024}


def peak_memory(libname: str, name: str) -> float | None:
    cmd = [sys.executable, __file__, "--memory-child", libname, "--only", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    if proc.returncode != 0:
        print(f"  {libname} {name} memory run failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"]


def compare(name: str, rounds: int, torch) -> dict:
    """Interleaved timing of one workload; checks that both engines compute the same thing."""
    step_b, net_b = make_runner("autograd", name)
    state = {k: v.numpy() for k, v in net_b.state_dict().items()}
    step_t, _ = make_runner("torch", name, state)
    vb, vt = step_b(), step_t()  # warm-up (first step allocates Adam state, scratch buffers)
    agree = abs(vb - vt) <= 1e-3 * max(1.0, abs(vt))
    tb, tt = [], []
    for _ in range(rounds):
        for fn, acc in ((step_b, tb), (step_t, tt)):
            time.sleep(0.05)  # let the other engine's spinning threads settle
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    ratios = np.array(tb) / np.array(tt)
    return {"bioimg_s": float(np.median(tb)), "torch_s": float(np.median(tt)),
            "ratio": float(np.median(ratios)), "lo": float(ratios.min()), "hi": float(ratios.max()),
            "agree": agree, "first": (vb, vt)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-child")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            sys.exit(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, names[0])))
        return
    import torch
    torch.set_num_threads(2)
    import autograd
    print(f"bioimg U-Net vs torch {torch.__version__} (2 threads), numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"  numpy BLAS: {blas_kernel()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; autograd threads "
          f"{autograd.get_num_threads() if hasattr(autograd, 'get_num_threads') else '?'}")
    print(f"  {args.rounds} interleaved rounds; ratio = bioimg / torch time (median [min-max]), "
          "lower is faster")
    print(f"{'workload':<40} {'bioimg':>9} {'torch':>9} {'ratio':>17} {'peak MB bioimg/torch':>22}")
    for n in names:
        ndim, depth, width, shape, train = WORKLOADS[n]
        r = compare(n, args.rounds, torch)
        label = f"{ndim}D {'train step' if train else 'inference'} d{depth} w{width} " \
                f"{'x'.join(map(str, shape))}"
        mem = ""
        if not args.no_memory:
            mb, mt = peak_memory("autograd", n), peak_memory("torch", n)
            if mb is not None and mt is not None:
                mem = f"{mb:7.0f} / {mt:<6.0f} ({mb / max(mt, 1):.2f})"
        flag = "" if r["agree"] else f"  [outputs differ: {r['first'][0]:.5g} vs {r['first'][1]:.5g}]"
        print(f"{label:<40} {r['bioimg_s'] * 1e3:7.0f}ms {r['torch_s'] * 1e3:7.0f}ms "
              f"{r['ratio']:5.2f} [{r['lo']:.2f}-{r['hi']:.2f}] {mem}{flag}", flush=True)


if __name__ == "__main__":
    main()
