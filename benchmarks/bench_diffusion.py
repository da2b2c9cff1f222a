"""Benchmark: bioimg anisotropic_diffusion vs PyTorch-CPU and plain numpy.

Run ``python benchmarks/bench_diffusion.py [--reps N]``. Same algorithm
everywhere (Perona-Malik, option 1, kappa 50, gamma 0.1, 10 iterations):

- ``bioimg``: :func:`bioimg.preprocess.anisotropic_diffusion` (default threads
  and with ``workers=1``);
- ``torch``: PyTorch on the CPU, in-place tensor ops, ``torch.set_num_threads(2)``
  (the reference) and 1 thread for context (skipped, with a note, when torch
  is not installed);
- ``numpy``: the plain vectorised loop of ``medpy.filter.smoothing`` (float32).

Each implementation is timed in its own block (best and median of ``--reps``
runs, after a warm-up and a pause so torch's spinning OpenMP threads do not
slow the next one), the results are checked against the numpy reference, and
peak traced memory (tracemalloc: numpy allocations) is reported as a multiple
of the float32 image size. Timings on a shared machine vary: compare the
ratios of one run.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from bioimg.preprocess import anisotropic_diffusion

NITER, KAPPA, GAMMA = 10, 50.0, 0.1


def numpy_reference(img: np.ndarray, niter=NITER, kappa=KAPPA, gamma=GAMMA) -> np.ndarray:
    """medpy's loop: forward diffs, conductance, backward diff of the flux (allocates freely)."""
    out = np.array(img, dtype=np.float32)
    deltas = [np.zeros_like(out) for _ in range(out.ndim)]
    for _ in range(niter):
        for i in range(out.ndim):
            sl = tuple(slice(None, -1) if j == i else slice(None) for j in range(out.ndim))
            deltas[i][sl] = np.diff(out, axis=i)
        flux = [np.exp(-((d / kappa) ** 2)) * d for d in deltas]
        for i in range(out.ndim):
            sl = tuple(slice(1, None) if j == i else slice(None) for j in range(out.ndim))
            flux[i][sl] = np.diff(flux[i], axis=i)
        out += gamma * np.sum(flux, axis=0)
    return out


def make_torch(threads: int):
    """The same algorithm in PyTorch (CPU, in-place ops), or None without torch."""
    try:
        import torch
    except ImportError:
        return None

    def torch_diffusion(img: np.ndarray, niter=NITER, kappa=KAPPA, gamma=GAMMA) -> np.ndarray:
        torch.set_num_threads(threads)
        out = torch.from_numpy(np.array(img, dtype=np.float32))
        n = out.shape
        deltas = [torch.zeros_like(out) for _ in n]
        g, acc = torch.empty_like(out), torch.empty_like(out)
        for _ in range(niter):
            acc.zero_()
            for i, d in enumerate(deltas):
                d.narrow(i, 0, n[i] - 1).copy_(out.narrow(i, 1, n[i] - 1)).sub_(out.narrow(i, 0, n[i] - 1))
                torch.mul(d, d, out=g).mul_(-1.0 / kappa**2).exp_()
                d.mul_(g)  # flux
                acc.add_(d)
                acc.narrow(i, 1, n[i] - 1).sub_(d.narrow(i, 0, n[i] - 1))
            out.add_(acc, alpha=gamma)
        return out.numpy()

    return torch_diffusion


def make_image(shape: tuple[int, ...], vmax: float, seed: int = 0) -> np.ndarray:
    """Smooth blobs with noise, scaled to [0, vmax], float32."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random(shape), 4) > 0.5
    img = img * 0.7 + 0.15 + rng.normal(0, 0.05, shape)
    return (np.clip(img, 0, 1) * vmax).astype(np.float32)


def timeit(func, img, reps: int) -> tuple[float, float]:
    time.sleep(0.5)
    func(img)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        func(img)
        times.append(time.perf_counter() - t)
    return float(np.min(times)), float(np.median(times))


def peak_memory(func, img) -> float:
    tracemalloc.start()
    func(img)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / (img.size * 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per implementation (3D: half)")
    args = parser.parse_args()
    torch_diffusion = make_torch(2)
    impls = {"bioimg": lambda x: anisotropic_diffusion(x, NITER, KAPPA, GAMMA),
             "bioimg 1 thread": lambda x: anisotropic_diffusion(x, NITER, KAPPA, GAMMA, workers=1),
             "numpy (medpy loop)": numpy_reference}
    if torch_diffusion is None:
        print("torch is not installed: torch column skipped (pip install torch==2.13.0)")
    else:
        impls["torch CPU 2 threads"] = torch_diffusion
        impls["torch CPU 1 thread"] = make_torch(1)
    cases = [("2D 512x512, values 0-255", (512, 512), 255.0),
             ("2D 512x512, values 0-4095 (12-bit)", (512, 512), 4095.0),
             ("3D 64x256x256, values 0-255", (64, 256, 256), 255.0)]
    for title, shape, vmax in cases:
        img = make_image(shape, vmax)
        reps = max(2, args.reps // 2) if len(shape) == 3 else args.reps * 4
        ref = numpy_reference(img)
        print(f"\n{title}: {NITER} iterations, kappa {KAPPA:g}, gamma {GAMMA:g}")
        results = {}
        for name, func in impls.items():
            err = float(np.abs(func(img) - ref).max() / np.abs(ref).max())
            best, med = timeit(func, img, reps)
            mem = peak_memory(func, img) if not name.startswith("torch") else float("nan")  # untraced
            results[name] = best
            mem_s = f"{mem:4.1f}x" if mem == mem else " n/a"
            print(f"  {name:22s} best {best * 1e3:8.1f} ms  median {med * 1e3:8.1f} ms  "
                  f"peak mem {mem_s}  max rel err {err:.1e}")
        for other in ("torch CPU 2 threads", "torch CPU 1 thread", "numpy (medpy loop)"):
            if other in results:
                print(f"  ratio bioimg / {other}: {results['bioimg'] / results[other]:.2f} "
                      f"(1 thread: {results['bioimg 1 thread'] / results[other]:.2f})")


if __name__ == "__main__":
    main()
