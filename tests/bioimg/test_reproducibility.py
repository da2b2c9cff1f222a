"""The same seed gives the same weights whatever the number of threads.

The convolution kernels cut large work into a fixed number of parts
(``_im2col.PARTS``) and add the parts' partial sums in part order, and they pin
BLAS to one thread (OpenBLAS sums some products in another order with several
threads). So neither ``autograd.set_num_threads`` / the CPU affinity nor
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` changes a bit of a training run.

Run as a script to print the count of differing weight arrays for 1 vs 2
threads (engine threads via CPU affinity, and BLAS threads via the environment)::

    python tests/bioimg/test_reproducibility.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as torch
from autograd.nn.functional import _im2col as K

# Big enough that the convolutions take the multi-part path (>= MIN_PARALLEL_MACS).
CONFIG = dict(task="segment", epochs=1, steps_per_epoch=3, patch_size=(64, 64), batch_size=4,
              seed=3, val_fraction=0.2, model_kwargs=dict(depth=2, base_width=16))


def _data():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:128, :128]
    lab = (((yy - 40) ** 2 + (xx - 50) ** 2 < 400) | ((yy - 90) ** 2 + (xx - 85) ** 2 < 300)).astype(np.uint8)
    img = (lab * 2 + rng.normal(0, 0.5, lab.shape)).astype(np.float32)
    return img, lab


def train_weights() -> dict:
    """Weights after a short seeded run (the thread settings are the caller's)."""
    from bioimg.training import TrainConfig, Trainer

    img, lab = _data()
    trainer = Trainer([img], [lab], TrainConfig(**CONFIG))
    for _ in trainer.run():
        pass
    return {k: v.numpy().copy() for k, v in trainer.net.state_dict().items()}


def _differing(a: dict, b: dict) -> list[str]:
    assert a.keys() == b.keys()
    return [k for k in a if not np.array_equal(a[k], b[k])]


@pytest.fixture
def threads():
    """Set the engine's thread count for one test; restore it after."""
    old = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(old)


@pytest.mark.parametrize("nd", [2, 3])
def test_conv_kernels_bitwise_equal_for_any_thread_count(threads, nd):
    rng = np.random.default_rng(nd)
    shape = (3, 8) + ((40, 40, 40) if nd == 3 else (160, 160))
    x0 = rng.standard_normal(shape).astype(np.float32)
    w0 = rng.standard_normal((16, 8) + (3,) * nd).astype(np.float32) * 0.1
    b0 = rng.standard_normal(16).astype(np.float32)
    conv = torch.nn.functional.conv3d if nd == 3 else torch.nn.functional.conv2d
    macs = np.prod(shape) // 8 * 16 * 8 * 3 ** nd
    assert K.threads_for_gemm(macs) == K.PARTS or K._BLAS is None  # the multi-part path
    results = []
    for n in (1, 2, 3, 8):
        threads(n)
        x = torch.from_numpy(x0.copy()).requires_grad_()
        w = torch.from_numpy(w0.copy()).requires_grad_()
        b = torch.from_numpy(b0.copy()).requires_grad_()
        y = conv(x, w, b, padding=1)
        (y * y).sum().backward()
        results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()])
    for other in results[1:]:
        for ref, got in zip(results[0], other):
            assert np.array_equal(ref, got)


def test_training_weights_independent_of_thread_count(threads):
    threads(1)
    one = train_weights()
    threads(3)
    three = train_weights()
    assert _differing(one, three) == []
    threads(3)
    assert _differing(three, train_weights()) == []  # and the same run twice


def _run_child(cpus: int, blas: str, out: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": blas, "OPENBLAS_NUM_THREADS": blas}
    code = (f"import os, sys, numpy as np; os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:{cpus}]);"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r});"
            "import test_reproducibility as t; import autograd;"
            f"w = t.train_weights(); np.savez({str(out)!r}, **w);"
            "print(autograd.get_num_threads())")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.split()[-1]) == cpus  # the engine saw the affinity


def compare_processes(tmp: Path) -> dict:
    """Differing weight arrays: 1 vs 2 CPUs (engine threads) and 1 vs 2 BLAS threads."""
    runs = {"cpu1_blas1": (1, "1"), "cpu2_blas1": (2, "1"), "cpu2_blas2": (2, "2")}
    for name, (cpus, blas) in runs.items():
        _run_child(cpus, blas, tmp / f"{name}.npz")
    load = {n: dict(np.load(tmp / f"{n}.npz")) for n in runs}
    total = len(load["cpu1_blas1"])
    return {"arrays": total,
            "engine threads 1 vs 2": len(_differing(load["cpu1_blas1"], load["cpu2_blas1"])),
            "BLAS threads 1 vs 2": len(_differing(load["cpu2_blas1"], load["cpu2_blas2"]))}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs 2 CPUs and Linux CPU affinity")
def test_processes_with_1_or_2_cpus_train_the_same_weights(tmp_path):
    counts = compare_processes(tmp_path)
    assert counts["engine threads 1 vs 2"] == 0 and counts["BLAS threads 1 vs 2"] == 0, counts


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(compare_processes(Path(d))))
