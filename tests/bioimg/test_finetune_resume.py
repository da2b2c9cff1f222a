"""``--init`` (fine-tune from a model) and ``--resume`` (continue an interrupted run).

- A fine-tuned run starts from the loaded weights: its first step's loss is
  the loaded model's loss on that batch (exactly: same weights, same ops).
- Labels with another number of classes replace the head and say so; an
  incompatible model is a one-line error (CLI exit 2).
- A run cancelled (Python) or interrupted with SIGINT (CLI) and resumed ends
  with bit-for-bit the weights and history of an uninterrupted run with the
  same seed (the engine is deterministic; the elapsed times differ).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pathlib import Path

import numpy as np
import pytest

import bioimg
from bioimg.io import write
from bioimg.modelfile import load_model
from bioimg.training import CancelToken, TrainConfig, Trainer, fit

CFG = dict(task="segment", epochs=3, steps_per_epoch=4, patch_size=(32, 32), batch_size=2, seed=5,
           val_fraction=0.2, model_kwargs=dict(depth=1, base_width=4))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :96]
    lab = ((((yy - 40) ** 2 + (xx - 50) ** 2) < 300) | (((yy - 75) ** 2 + (xx - 20) ** 2) < 150)).astype(np.uint8)
    img = (lab * 2 + rng.normal(0, 0.5, lab.shape)).astype(np.float32)
    return img, lab


@pytest.fixture(scope="module")
def base(data, tmp_path_factory):
    """A trained model with a non-default normalization, saved to a file."""
    img, lab = data
    model = fit([img], [lab], TrainConfig(**{**CFG, "normalization": {"method": "zscore"}}))
    return model.save(tmp_path_factory.mktemp("m") / "base.bioimg")


def _weights(net) -> dict:
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


def test_init_first_step_loss_is_the_loaded_models(data, base):
    img, lab = data
    trainer = Trainer([img], [lab], TrainConfig(**{**CFG, "seed": 9}), init=base)
    assert trainer.config.normalization == {"method": "zscore"}  # the model's, not the default
    assert trainer.init_message == ""
    batches = []
    draw = trainer.task.batch
    trainer.task.batch = lambda: batches.append(draw()) or batches[-1]
    first = next(e for e in trainer.run() if e.kind == "step")
    loaded = load_model(base)
    loaded.net.train()
    x, y = batches[0]
    assert first.loss == pytest.approx(float(trainer.task.loss(loaded.net(x), y).item()), abs=0, rel=1e-7)
    # a fresh model would start elsewhere: the equality above is not an accident
    fresh = Trainer([img], [lab], TrainConfig(**{**CFG, "seed": 9}))
    fresh.task.batch = lambda: batches[0]
    assert next(e for e in fresh.run() if e.kind == "step").loss != first.loss


def test_init_new_classes_replace_the_head(data, base):
    img, lab = data
    three = lab.copy()
    three[:12, :12] = 2  # a third class: background 0, 1, 2
    trainer = Trainer([img], [three], TrainConfig(**CFG), init=base)
    assert "head" in trainer.init_message and "3 classes" in trainer.init_message
    assert "\n" not in trainer.init_message
    new, old = _weights(trainer.net), _weights(load_model(base).net)
    assert all(np.array_equal(new[k], old[k]) for k in new if not k.startswith("head."))
    assert new["head.weight"].shape[0] == 3 and trainer.result.info.normalization == {"method": "zscore"}


def test_init_incompatible_is_one_line(data, base, blobs3d):
    vol, vlab = blobs3d
    with pytest.raises(ValueError, match=r"2D images .* 3D"):
        Trainer([vol], [vlab > 0], TrainConfig(**{**CFG, "patch_size": None}), init=base)
    with pytest.raises(ValueError, match="base_width=4, this run asks for base_width=8"):
        Trainer([data[0]], [data[1]], TrainConfig(**{**CFG, "model_kwargs": {"base_width": 8}}), init=base)
    with pytest.raises(ValueError, match="segment model cannot start a denoise run"):
        Trainer([data[0]], None, TrainConfig(**{**CFG, "task": "denoise"}), init=base)


def test_cli_init_exit_codes(data, base, blobs3d, tmp_path, capsys):
    from bioimg.cli import main

    write(tmp_path / "img.tif", data[0])
    write(tmp_path / "lab.tif", data[1])
    write(tmp_path / "vol.tif", blobs3d[0])
    write(tmp_path / "vlab.tif", (blobs3d[1] > 0).astype(np.uint8))
    common = ["train", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--init", str(base)]
    assert main(common + ["--image", str(tmp_path / "img.tif"), "--labels", str(tmp_path / "lab.tif"),
                          "--patch-size", "32", "--out", str(tmp_path / "ft.bioimg")]) == 0
    assert load_model(tmp_path / "ft.bioimg").info.normalization == {"method": "zscore"}
    capsys.readouterr()
    assert main(common + ["--image", str(tmp_path / "vol.tif"), "--labels", str(tmp_path / "vlab.tif"),
                          "--out", str(tmp_path / "bad.bioimg")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--init" in err and "Traceback" not in err


def test_resume_equals_uninterrupted(data, tmp_path):
    img, lab = data
    full = Trainer([img], [lab], TrainConfig(**CFG))
    list(full.run())
    for stop_at in (3, 4, 9):  # mid-epoch, at an epoch's last step, in the last epoch
        state = tmp_path / f"s{stop_at}.npz"
        token = CancelToken()
        first = Trainer([img], [lab], TrainConfig(**CFG), cancel=token, state_file=state)
        for event in first.run():
            if event.kind == "step" and event.step == stop_at:
                token.cancel()
        assert state.exists()
        resumed = Trainer([img], [lab], TrainConfig(**CFG), state_file=state, resume=True)
        assert resumed.resumed_step == stop_at
        list(resumed.run())
        a, b = _weights(full.net), _weights(resumed.net)
        assert all(np.array_equal(a[k], b[k]) for k in a), stop_at  # bit for bit
        strip = [[{k: v for k, v in h.items() if k != "elapsed"} for h in t.history] for t in (full, resumed)]
        assert strip[0] == strip[1]
        assert not state.exists()  # a finished run removes its state


def test_resume_refuses_other_inputs(data, tmp_path):
    img, lab = data
    token = CancelToken()
    state = tmp_path / "s.npz"
    t = Trainer([img], [lab], TrainConfig(**CFG), cancel=token, state_file=state)
    for e in t.run():
        token.cancel()
    with pytest.raises(ValueError, match="other images or labels"):
        Trainer([img + 1], [lab], TrainConfig(**CFG), state_file=state, resume=True)
    with pytest.raises(ValueError, match="lr=0.003, this run has lr=0.01"):
        Trainer([img], [lab], TrainConfig(**{**CFG, "lr": 0.01}), state_file=state, resume=True)
    with pytest.raises(ValueError, match="no checkpoint"):
        Trainer([img], [lab], TrainConfig(**CFG), state_file=tmp_path / "none.npz", resume=True)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_cli_sigint_then_resume_equals_uninterrupted(data, tmp_path):
    write(tmp_path / "img.tif", data[0])
    write(tmp_path / "lab.tif", data[1])
    cmd = [sys.executable, "-m", "bioimg", "train", "--image", "img.tif", "--labels", "lab.tif",
           "--depth", "1", "--base-width", "4", "--patch-size", "32", "--batch-size", "2", "--seed", "2",
           "--epochs", "40", "--steps-per-epoch", "10", "--checkpoint-every", "1"]
    root = str(Path(bioimg.__file__).resolve().parents[1])  # the tree under test, installed or not
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    ref = subprocess.run(cmd + ["--out", "ref.bioimg"], cwd=tmp_path, env=env, capture_output=True)
    assert ref.returncode == 0, ref.stderr.decode()[-1500:]
    proc = subprocess.Popen(cmd + ["--out", "m.bioimg"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's
                            stderr=subprocess.PIPE)
    end = time.monotonic() + 120
    while not (tmp_path / "m.state.npz").exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-1500:]
    assert b"--resume" in out and (tmp_path / "m.state.npz").exists()
    done = subprocess.run(cmd + ["--out", "m.bioimg", "--resume"], cwd=tmp_path, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-1500:]
    assert b"resuming from" in done.stdout
    a, b = (_weights(load_model(tmp_path / n).net) for n in ("ref.bioimg", "m.bioimg"))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not (tmp_path / "m.state.npz").exists()


def test_resume_keeps_the_time_budget_used(data, tmp_path):
    img, lab = data
    cfg = dict(CFG, time_budget=3600.0, epochs=50)
    token, state = CancelToken(), tmp_path / "s.npz"
    first = Trainer([img], [lab], TrainConfig(**cfg), cancel=token, state_file=state)
    for event in first.run():
        if event.kind == "step" and event.step == 2:
            used = event.elapsed
            token.cancel()
    resumed = Trainer([img], [lab], TrainConfig(**cfg), state_file=state, resume=True)
    step = next(e for e in resumed.run() if e.kind == "step")
    assert step.step == 3 and step.elapsed >= used  # the clock goes on from the time already used
