"""Engine overhead vs PyTorch CPU: small-tensor ops, the polynomial fit, a 512x512 matmul.

Run: ``python benchmarks/bench_engine.py`` (PyTorch from ``pip install torch==2.13.0``).
Prints time ratios bioimg/PyTorch measured side by side in this process.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import table, timeit, try_torch  # noqa: E402

import autograd  # noqa: E402


def op_workloads(lib, n=1000):
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal(n).astype(np.float32)
    b_np = rng.standard_normal(n).astype(np.float32)
    a, b = lib.tensor(a_np), lib.tensor(b_np)
    ag = lib.tensor(a_np, requires_grad=True)
    bg = lib.tensor(b_np, requires_grad=True)

    def fwd_ops():  # 10 ops, no graph
        c = a + b
        c = c * a
        c = c - b
        c = c / 2.0
        c = lib.exp(c * 0.1)
        c = lib.tanh(c)
        c = c.relu()
        c = c.sum()
        c = a.mean()
        return a.reshape(10, 100)

    def fwd_bwd():  # 8 recorded ops + backward
        y = ((ag * bg + ag) * 0.5).tanh()
        loss = (y * y).sum()
        loss.backward()
        ag.grad = None
        bg.grad = None

    return {"10 small ops, no grad (1000 elems)": fwd_ops,
            "8 ops fwd+bwd (1000 elems)": fwd_bwd}


def poly_fit(lib, steps=200):
    x = lib.linspace(-math.pi, math.pi, 2000)
    y = lib.sin(x)
    xs = x / math.pi
    powers = [xs ** k for k in range(6)]

    def run():
        coeffs = [lib.zeros((), requires_grad=True) for _ in range(6)]
        for _ in range(steps):
            y_pred = coeffs[0] * powers[0]
            for c, p in zip(coeffs[1:], powers[1:]):
                y_pred = y_pred + c * p
            loss = ((y_pred - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                for c in coeffs:
                    c -= 0.45 * c.grad
                    c.grad = None
    return run


def matmul_workload(lib, n=512):
    rng = np.random.default_rng(1)
    a = lib.tensor(rng.standard_normal((n, n)).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal((n, n)).astype(np.float32), requires_grad=True)

    def run():
        (a @ b).sum().backward()
        a.grad = None
        b.grad = None
    return run


def main() -> None:
    torch = try_torch()
    rows = []
    ours = op_workloads(autograd)
    ref = op_workloads(torch) if torch else {}
    for name, fn in ours.items():
        rows.append((name, timeit(fn, repeat=15, number=200), timeit(ref[name], repeat=15, number=200) if torch else None))
    rows.append(("polynomial fit, 200 steps (2000 points)", timeit(poly_fit(autograd), repeat=5),
                 timeit(poly_fit(torch), repeat=5) if torch else None))
    rows.append(("matmul 512x512 fwd+bwd", timeit(matmul_workload(autograd), repeat=15),
                 timeit(matmul_workload(torch), repeat=15) if torch else None))
    print(table(rows))


if __name__ == "__main__":
    main()
