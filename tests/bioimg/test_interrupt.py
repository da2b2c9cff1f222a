"""``bioimg train`` killed or interrupted at any moment never loses the previous model.

Each test runs ``python -m bioimg train`` in a subprocess on a tiny 2D problem,
with an existing ``m.bioimg`` whose bytes are recorded, and sends SIGKILL or
SIGINT during training or during the final model write (the
``BIOIMG_TEST_ATOMIC_PAUSE`` hook of ``bioimg.io._atomic`` holds the writer at
each stage and says so on stderr). Afterwards the old file must be
byte-identical (or, once a run has finished, a valid new model), and no
temporary file may remain once the next run has started.

The many-kill variant is ``-m slow``; ``BIOIMG_KILL_REPEATS`` sets its count.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bioimg.io import write
from bioimg.modelfile import BioimgModel, ModelInfo, load_model, save_model
from bioimg.models import build_model

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

TRAIN = ["--depth", "1", "--base-width", "4", "--patch-size", "32", "--batch-size", "2",
         "--val-fraction", "0.2"]
INPUTS = {"img.tif", "lab.tif"}


@pytest.fixture
def work(tmp_path):
    rng = np.random.default_rng(0)
    lab = np.zeros((96, 96), np.uint8)
    lab[20:50, 20:50] = 1
    lab[60:80, 55:90] = 1
    img = rng.random((96, 96)).astype(np.float32) + lab
    write(tmp_path / "img.tif", img)
    write(tmp_path / "lab.tif", lab)
    net = build_model("unet", in_channels=1, out_channels=2, ndim=2, depth=1, base_width=4)
    save_model(BioimgModel(net, ModelInfo("segment", "unet", dict(in_channels=1, out_channels=2, ndim=2,
                                                                 depth=1, base_width=4))),
               tmp_path / "m.bioimg")
    return tmp_path


class Run:
    """A ``bioimg train`` subprocess whose stderr is collected as it comes."""

    def __init__(self, cwd: Path, *, epochs=100000, pause: str | None = None, extra=()):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("BIOIMG_TEST_ATOMIC_PAUSE", None)
        if pause is not None:
            env["BIOIMG_TEST_ATOMIC_PAUSE"] = str(pause)
        cmd = [sys.executable, "-m", "bioimg", "train", "--image", "img.tif", "--labels", "lab.tif",
               "--out", "m.bioimg", "--epochs", str(epochs), "--steps-per-epoch", "5", *TRAIN, *extra]
        # a terminal's Ctrl-C: SIGINT handled even when the suite runs as a background job
        # (which starts with SIGINT ignored, and the run rightly keeps ignoring it then)
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=_default_sigint)
        self.err = b""
        self.out = b""
        self._t = [threading.Thread(target=self._pump, args=(s, n), daemon=True)
                   for s, n in ((self.proc.stderr, "err"), (self.proc.stdout, "out"))]
        for t in self._t:
            t.start()

    def _pump(self, stream, name):
        for chunk in iter(lambda: stream.read1(4096), b""):
            setattr(self, name, getattr(self, name) + chunk)

    def wait_for(self, marker: bytes, timeout=60.0) -> None:
        end = time.monotonic() + timeout
        while marker not in self.err:
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the pump read the rest
                if marker in self.err:
                    return
                raise AssertionError(f"exited ({self.proc.returncode}) before {marker!r}:\n"
                                     f"{self.err.decode(errors='replace')[-2000:]}")
            if time.monotonic() > end:
                self.proc.kill()
                raise AssertionError(f"no {marker!r} within {timeout} s")
            time.sleep(0.01)

    def finish(self, timeout=60.0) -> int:
        rc = self.proc.wait(timeout)
        for t in self._t:
            t.join(5)
        return rc


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _extras(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} - INPUTS - {"m.bioimg"}


def _next_start_cleans(folder: Path) -> None:
    """A new run removes what a killed one left, and writes a valid model."""
    run = Run(folder, epochs=1)
    assert run.finish() == 0, run.err.decode(errors="replace")[-2000:]
    assert _extras(folder) == set(), _extras(folder)
    assert load_model(folder / "m.bioimg").task == "segment"


def kill_once(folder: Path, moment: str, sig: int, rng: random.Random, pause: float = 3.0) -> Run:
    """Start a run, send ``sig`` at ``moment`` ('training' or a writer stage); return it."""
    if moment == "training":
        run = Run(folder)
        run.wait_for(b"step/s")
        time.sleep(rng.uniform(0.0, 0.6))
    else:  # 'written' (data fsynced, not yet named) or 'renaming' (named, not yet renamed)
        run = Run(folder, epochs=1, pause=f"{moment}:{pause}")
        run.wait_for(f"bioimg-test-atomic: {moment}".encode())
    run.proc.send_signal(sig)
    run.finish()
    return run


@pytest.mark.parametrize("moment", ["training", "written", "renaming"])
def test_sigkill_keeps_the_old_model(work, moment):
    before = (work / "m.bioimg").read_bytes()
    run = kill_once(work, moment, signal.SIGKILL, random.Random(0))
    assert run.proc.returncode == -signal.SIGKILL
    assert (work / "m.bioimg").read_bytes() == before
    left = _extras(work)
    if moment == "renaming":  # killed between link and rename: a pid-named file, for the next start
        assert len(left - {"m.state.npz"}) == 1 and min(left).startswith(".m.bioimg.")
    else:
        assert left <= {"m.state.npz"}  # the resumable state of the last checkpoint (--resume)
    _next_start_cleans(work)


def test_sigint_during_training_writes_a_separate_model(work):
    before = (work / "m.bioimg").read_bytes()
    run = kill_once(work, "training", signal.SIGINT, random.Random(1))
    assert run.proc.returncode == 130, run.err.decode(errors="replace")[-2000:]
    assert (work / "m.bioimg").read_bytes() == before
    assert _extras(work) == {"m.interrupted.bioimg", "m.state.npz"}  # the state: for --resume
    assert load_model(work / "m.interrupted.bioimg").info.history
    assert b"m.bioimg left unchanged; best model so far written to m.interrupted.bioimg" in run.out


def test_sigterm_without_previous_model(work):
    (work / "m.bioimg").unlink()
    run = kill_once(work, "training", signal.SIGTERM, random.Random(2))
    assert run.proc.returncode == 128 + signal.SIGTERM
    assert not (work / "m.bioimg").exists()
    assert load_model(work / "m.interrupted.bioimg").task == "segment"
    assert b"m.bioimg not written" in run.out


def test_sigint_during_the_final_write_completes_it(work):
    """Training has ended: a Ctrl-C during the save must not cut it short."""
    run = kill_once(work, "written", signal.SIGINT, random.Random(3), pause=0.3)
    assert run.proc.returncode == 0, run.err.decode(errors="replace")[-2000:]
    assert _extras(work) == set()
    assert load_model(work / "m.bioimg").info.history


def test_second_sigint_quits_without_saving(work):
    before = (work / "m.bioimg").read_bytes()
    run = Run(work)
    run.wait_for(b"step/s")
    run.proc.send_signal(signal.SIGINT)
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130
    assert (work / "m.bioimg").read_bytes() == before
    # the first signal may have won the race (the state file: written on the first signal, for --resume)
    assert _extras(work) <= {"m.interrupted.bioimg", "m.state.npz"}


@pytest.mark.slow
def test_many_kills(work):
    """SIGKILL/SIGINT at random moments, ``BIOIMG_KILL_REPEATS`` times (default 30)."""
    rng = random.Random(int(os.environ.get("BIOIMG_KILL_SEED", "0")))
    repeats = int(os.environ.get("BIOIMG_KILL_REPEATS", "30"))
    counts: dict = {}
    combos = [(m, s) for m in ("startup", "training", "written", "renaming")
              for s in (signal.SIGKILL, signal.SIGINT)]
    for i in range(repeats):
        before = (work / "m.bioimg").read_bytes()
        moment, sig = combos[i % len(combos)]  # every combination, at random delays
        if moment == "startup":  # while importing / reading / building the model
            run = Run(work)
            time.sleep(rng.uniform(0.0, 1.5))
            run.proc.send_signal(sig)
            run.finish()
        else:
            run = kill_once(work, moment, sig, rng)
        rc = run.proc.returncode
        counts[(moment, signal.Signals(sig).name, rc)] = counts.get((moment, signal.Signals(sig).name, rc), 0) + 1
        if rc == 0:  # finished (a SIGINT during the write): a valid new model
            assert load_model(work / "m.bioimg").info.history
        else:
            assert (work / "m.bioimg").read_bytes() == before, (i, moment, sig, rc)
        (work / "m.interrupted.bioimg").unlink(missing_ok=True)
        if rng.random() < 0.3:
            _next_start_cleans(work)
    _next_start_cleans(work)
    print(f"\n{repeats} interruptions, all kept the previous model: {counts}")
