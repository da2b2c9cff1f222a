"""Predict widget: the progress bar shows the tiles, then the stitching of instance labels; cancel there."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import tifffile

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture
def instance_model(tmp_path) -> Path:
    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo, save_model
    from bioimg.models import build_model

    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 3, "ndim": 2, "depth": 1, "base_width": 4}
    info = ModelInfo(task="instance", architecture="unet", config=cfg, axes="YX", patch_size=[16, 16],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["nucleus"])
    return save_model(BioimgModel(build_model("unet", **cfg), info), tmp_path / "inst.bioimg")


@pytest.fixture
def small_blocks(monkeypatch):
    """Instance blocks of 32 px (default 1024), so a 96 x 64 layer is stitched from 3 x 2 blocks."""
    import importlib

    predict_module = importlib.import_module("bioimg.inference.predict")  # the attribute is the function
    monkeypatch.setattr(predict_module, "default_block", lambda ndim: ((32,) * ndim, (8,) * ndim))
    return 2 * 3 * 2  # stitching steps: two passes over the blocks


def _open(viewer, dock, instance_model):
    layer = viewer.add_image(tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:96, :64], name="cells")
    widget = dock(viewer, "Predict")
    widget.load_model(instance_model)
    widget.image.value = layer
    widget.tile.value = "32"
    stages, counts = [], []
    widget.relay.stage_changed.connect(stages.append)
    widget.relay.changed.connect(lambda done, total: counts.append((done, total)))
    return widget, stages, counts


def test_progress_bar_shows_stitching_stage_with_its_total(viewer, dock, click, wait, notes, instance_model,
                                                           small_blocks):
    widget, stages, counts = _open(viewer, dock, instance_model)
    click(widget)
    wait(widget, 60)
    assert not notes.errors, notes.errors
    assert stages == ["tiles", "stitching"]
    assert (12, 12) in counts  # 4 x 3 tiles of 32 px (step 24)
    assert counts[-1] == (small_blocks, small_blocks) and counts[counts.index((12, 12)) + 1] == (0, small_blocks)
    bar = widget.progress
    assert bar.format() == "stitching %v/%m" and bar.value() == bar.maximum() == small_blocks
    assert bar.text() == f"stitching {small_blocks}/{small_blocks}"
    assert "cells instances" in viewer.layers
    # a second run announces its stages again (the relay forgets the last run's stage)
    stages.clear()
    click(widget)
    wait(widget, 60)
    assert stages == ["tiles", "stitching"]


def test_cancel_during_stitching(viewer, dock, click, wait, notes, qtbot, monkeypatch, instance_model,
                                 small_blocks):
    import bioimg.inference.stitch as stitch

    widget, stages, counts = _open(viewer, dock, instance_model)
    real = stitch.instances_from_probs

    def slow_block(*args, **kwargs):  # the first block waits for the user's Cancel, as a slow one would
        end = time.monotonic() + 30
        while not widget.cancelled and time.monotonic() < end:
            time.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(stitch, "instances_from_probs", slow_block)
    click(widget)
    qtbot.waitUntil(lambda: "stitching" in stages, timeout=60000)
    assert widget.status.text() == "predict: stitching..."
    click(widget)  # the same button cancels
    wait(widget, 60)
    assert widget.cancelled and widget.status.text() == "predict: cancelled"
    assert "predict: cancelled" in notes.infos and not notes.errors
    assert "cells instances" not in viewer.layers
    assert counts[-1][0] < small_blocks
