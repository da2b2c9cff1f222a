"""``bioimg demo-engine``: fit a polynomial to sin(x) with the autograd engine.

The classic PyTorch tutorial loop, written exactly in PyTorch style
(``requires_grad`` leaves, ``loss.backward()``, manual update under
``no_grad``, grad reset) to show the engine at work.
"""
from __future__ import annotations

import math
import time


def fit_polynomial(steps: int = 20000, lr: float = 0.45, points: int = 2000, seed: int = 0,
                   progress=None) -> tuple[list[float], float]:
    """Fit ``y = a + b x + c x^2 + d x^3 + e x^4 + f x^5`` to ``sin(x)`` on ``[-pi, pi]``.

    Plain gradient descent on the mean squared error, with x scaled to
    ``[-1, 1]`` so one learning rate suits every power. Returns the
    coefficients in the original x scale and the final loss.
    """
    import autograd as torch

    torch.manual_seed(seed)
    x = torch.linspace(-math.pi, math.pi, points)
    y = torch.sin(x)
    xs = x / math.pi
    powers = [xs ** k for k in range(6)]
    coeffs = [torch.randn((), requires_grad=True) for _ in range(6)]
    loss = None
    for t in range(steps):
        y_pred = coeffs[0] * powers[0]
        for c, p in zip(coeffs[1:], powers[1:]):
            y_pred = y_pred + c * p
        loss = ((y_pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for c in coeffs:
                c -= lr * c.grad
                c.grad = None
        if progress is not None:
            progress(t, loss)
    scaled = [c.item() / math.pi ** k for k, c in enumerate(coeffs)]
    return scaled, float(loss.item())


def run(args) -> int:
    from tqdm import tqdm

    start = time.perf_counter()
    with tqdm(total=args.steps, desc="fitting sin(x)", unit="step", mininterval=0.5) as bar:
        def progress(t, loss):
            if t % 100 == 0 or t == args.steps - 1:
                bar.set_postfix(loss=f"{loss.item():.2e}")
            bar.update(1)

        coeffs, loss = fit_polynomial(args.steps, args.lr, progress=progress)
    terms = " + ".join(f"{c:+.5f} x^{k}" for k, c in enumerate(coeffs))
    print(f"Result: y = {terms}")
    print(f"final loss (MSE): {loss:.3e}   time: {time.perf_counter() - start:.1f} s")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("demo-engine", help="fit a 5th-order polynomial to sin(x) with the autograd engine")
    p.add_argument("--steps", type=int, default=20000, help="gradient-descent steps (default 20000)")
    p.add_argument("--lr", type=float, default=0.45, help="learning rate (default 0.45)")
    p.set_defaults(func=run)
