"""Run real third-party PyTorch programs with ``import torch`` resolved to autograd.

Each program is copied verbatim (source URL and licence in its header) into a
folder next to this file. Only the *data* is replaced: downloads become a small
synthetic ``torchvision`` (see ``_shim.py``) or synthetic files written by the
spec's ``setup``; sizes are shrunk through the programs' own command-line options.

Usage::

    python tests/autograd/programs/run_programs.py            # all programs, a table
    python tests/autograd/programs/run_programs.py mnist vae  # some
    AUTOGRAD_ROOT=/path/to/older/tree python ...              # the same against another autograd

Each program runs in a fresh subprocess (its own ``sys.modules``), in a temporary
working directory.
"""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _words(path: Path, n_lines: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(40)]
    lines = [" ".join(rng.choice(vocab, size=int(rng.integers(3, 12)))) for _ in range(n_lines)]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")


def _setup_wikitext(tmp: Path) -> None:
    d = tmp / "wikitext"
    d.mkdir()
    for i, name in enumerate(("train", "valid", "test")):
        _words(d / f"{name}.txt", 60 if name == "train" else 20, i)


def _setup_bsds(tmp: Path) -> None:
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        d = tmp / "dataset" / "BSDS300" / "images" / split
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(d / f"{i}.jpg")


def _setup_shakespeare(tmp: Path) -> None:
    d = tmp / "data" / "shakespeare_char"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train", 4000), ("val", 1000)):
        rng.integers(0, 65, n).astype(np.uint16).tofile(d / f"{name}.bin")
    # nanoGPT's configurator.py reads argv; train.py expects it in the working directory
    (tmp / "configurator.py").write_text((HERE / "nanogpt" / "configurator.py").read_text())


def _setup_names(tmp: Path) -> None:
    d = tmp / "data" / "names"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    for lang in ("Russian", "German", "Spanish", "Chinese"):
        names = ["".join(rng.choice(letters, size=int(rng.integers(3, 8)))).capitalize() for _ in range(30)]
        (d / f"{lang}.txt").write_text("\n".join(names) + "\n", encoding="utf8")


UNET3D_MIRROR = Path(os.environ.get("PYTORCH_3DUNET_GIT", "/work/.mirror/wolny+pytorch-3dunet/repo"))
UNET3D_FILES = ["pytorch3dunet/__init__.py", "pytorch3dunet/__version__.py", "pytorch3dunet/unet3d/__init__.py",
                "pytorch3dunet/unet3d/model.py", "pytorch3dunet/unet3d/buildingblocks.py",
                "pytorch3dunet/unet3d/se.py", "pytorch3dunet/unet3d/utils.py", "pytorch3dunet/unet3d/losses.py"]


def _setup_unet3d(tmp: Path) -> None:
    """Their files, verbatim from a git snapshot (wolny/pytorch-3dunet @ a33e2c7, MIT)."""
    for name in UNET3D_FILES:
        out = tmp / name
        out.parent.mkdir(parents=True, exist_ok=True)
        text = subprocess.run(["git", "--git-dir", str(UNET3D_MIRROR), "show", f"HEAD:{name}"], capture_output=True,
                              text=True, check=True).stdout
        out.write_text(text)


@dataclass
class Spec:
    """One program: the scripts to run in order (folder-relative path, argv) and its data setup."""
    name: str
    folder: str
    steps: list
    setup: object = None
    fast: bool = True  # run by the test suite (a few seconds)
    note: str = ""
    env: dict = field(default_factory=dict)


SPECS = [
    Spec("regression", "ex_regression", [("main.py", [])]),
    Spec("mnist", "ex_mnist", [("main.py", ["--epochs", "1", "--dry-run", "--batch-size", "16",
                                             "--test-batch-size", "32"])]),
    Spec("mnist_rnn", "ex_mnist_rnn", [("main.py", ["--epochs", "1", "--dry-run", "--batch-size", "16",
                                                     "--test-batch-size", "32"])], fast=False),
    Spec("mnist_forward_forward", "ex_mnist_forward_forward",
         [("main.py", ["--epochs", "3", "--train_size", "64", "--test_size", "32"])], fast=False),
    Spec("vae", "ex_vae", [("main.py", ["--epochs", "1", "--batch-size", "16", "--log-interval", "1"])]),
    Spec("dcgan", "ex_dcgan", [("main.py", ["--dataset", "fake", "--dry-run", "--niter", "1", "--batchSize", "4",
                                             "--ngf", "8", "--ndf", "8", "--nz", "16", "--workers", "0"])]),
    Spec("super_resolution", "ex_super_resolution",
         [("main.py", ["--upscale_factor", "3", "--batchSize", "2", "--testBatchSize", "2", "--nEpochs", "1",
                       "--threads", "0"])], setup=_setup_bsds, fast=False),
    Spec("time_sequence_prediction", "ex_time_sequence_prediction",
         [("generate_sine_wave.py", []), ("train.py", ["--steps", "1"])], fast=False),
    Spec("word_language_model_lstm", "ex_word_language_model",
         [("main.py", ["--data", "wikitext", "--epochs", "1", "--emsize", "16", "--nhid", "16", "--bptt", "8",
                       "--batch_size", "4", "--log-interval", "2"])], setup=_setup_wikitext, fast=False,
         note="saves the whole model with torch.save(model): refused by design (no pickle)"),
    Spec("word_language_model_transformer", "ex_word_language_model",
         [("main.py", ["--data", "wikitext", "--model", "Transformer", "--epochs", "1", "--emsize", "16",
                       "--nhid", "16", "--nhead", "2", "--bptt", "8", "--batch_size", "4", "--log-interval", "2"])],
         setup=_setup_wikitext, note="saves the whole model with torch.save(model): refused by design (no pickle)"),
    Spec("nanogpt", "nanogpt",
         [("train.py", ["--dataset=shakespeare_char", "--device=cpu", "--compile=False", "--eval_iters=2",
                        "--log_interval=1", "--block_size=16", "--batch_size=4", "--n_layer=2", "--n_head=2",
                        "--n_embd=32", "--max_iters=4", "--lr_decay_iters=4", "--eval_interval=2",
                        "--warmup_iters=1", "--gradient_accumulation_steps=2", "--dropout=0.1"])],
         setup=_setup_shakespeare, fast=False),
    Spec("quickstart_tutorial", "tut_quickstart", [("quickstart_tutorial.py", [])], fast=False),
    Spec("char_rnn_generation_tutorial", "tut_char_rnn", [("char_rnn_generation_tutorial.py", [])],
         setup=_setup_names, fast=False),
    Spec("unet_3d_wolny", "ext_unet3d", [("train_unet3d.py", [])], setup=_setup_unet3d, fast=False,
         note="needs a local git snapshot of wolny/pytorch-3dunet (PYTORCH_3DUNET_GIT)"),
]


def _child(script: str, cwd: str, argv: list) -> None:
    sys.path.insert(0, str(HERE))
    import _shim

    _shim.install(os.environ.get("AUTOGRAD_ROOT") or str(REPO))
    path = Path(script)
    sys.path.insert(0, str(path.parent))
    sys.path.insert(0, cwd)  # data/package files a spec's setup wrote
    sys.argv = [str(path)] + argv
    os.chdir(cwd)
    runpy.run_path(str(path), run_name="__main__")


def run_spec(spec: Spec, timeout: float = 600, root: str | None = None) -> tuple[bool, str, float]:
    """Run one program; ``(ok, last error line or '', seconds)``."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", **spec.env)
    if root:
        env["AUTOGRAD_ROOT"] = root
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"prog_{spec.name}_") as tmp:
        if spec.setup is not None:
            spec.setup(Path(tmp))
        for script, argv in spec.steps:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(HERE / spec.folder / script), tmp,
                   *argv]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            except subprocess.TimeoutExpired:
                return False, f"timeout after {timeout:.0f} s", time.perf_counter() - t0
            if res.returncode != 0:
                lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
                return False, (lines[-1] if lines else f"exit {res.returncode}"), time.perf_counter() - t0
    return True, "", time.perf_counter() - t0


def main(argv: list) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], argv[3:])
        return 0
    chosen = [s for s in SPECS if not argv or s.name in argv]
    ok_count = 0
    for spec in chosen:
        ok, err, secs = run_spec(spec)
        ok_count += ok
        print(f"{'ok  ' if ok else 'FAIL'} {spec.name:34s} {secs:6.1f} s  {err[:150]}", flush=True)
    print(f"{ok_count}/{len(chosen)} programs ran as written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
