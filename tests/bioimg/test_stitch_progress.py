"""Progress in stages (tiles, then instance stitching) through predict, predict_large and the CLI; cancel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

import autograd as torch
from bioimg.cli import main
from bioimg.inference import predict
from bioimg.inference._progress import accepts_stage, staged
from bioimg.io import read, write
from bioimg.modelfile import BioimgModel, ModelInfo, load_model, save_model
from bioimg.models import build_model
from bioimg.scale._predict_large import predict_large

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
BLOCK = 32  # instance block of the tests: a 96 x 64 image is 3 x 2 blocks


@pytest.fixture(scope="module")
def instance_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 3, "ndim": 2, "depth": 1, "base_width": 4}
    info = ModelInfo(task="instance", architecture="unet", config=cfg, axes="YX", patch_size=[16, 16],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["nucleus"])
    return save_model(BioimgModel(build_model("unet", **cfg), info), tmp_path_factory.mktemp("m") / "inst.bioimg")


@pytest.fixture
def crop() -> np.ndarray:
    return tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:96, :64]


class Recorder:
    """A stage-aware progress callback that remembers every call."""

    def __init__(self):
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, done: int, total: int, stage: str = "?") -> None:
        self.calls.append((stage, done, total))

    def stages(self) -> list[str]:
        return [s for i, (s, _, _) in enumerate(self.calls) if i == 0 or s != self.calls[i - 1][0]]

    def of(self, stage: str) -> list[tuple[int, int]]:
        return [(d, t) for s, d, t in self.calls if s == stage]


def test_stage_detection():
    assert accepts_stage(lambda done, total, stage=None: None)
    assert accepts_stage(lambda done, total, **kw: None)
    assert not accepts_stage(lambda done, total: None)
    assert not accepts_stage(max)  # no signature to inspect: called the plain way
    seen = []
    staged(lambda d, t, stage: seen.append(stage), "stitching")(1, 2)
    plain = lambda d, t: seen.append((d, t))  # noqa: E731
    assert staged(plain, "tiles") is plain and staged(None, "tiles") is None
    assert seen == ["stitching"]


def test_predict_reports_tiles_then_stitching_with_their_totals(instance_model, crop):
    rec = Recorder()
    pred = predict(load_model(instance_model), crop, tile=32, overlap=8, instance_block=BLOCK,
                   instance_halo=8, progress=rec)
    assert rec.stages() == ["tiles", "stitching"]
    tiles, stitch = rec.of("tiles"), rec.of("stitching")
    assert tiles[-1][0] == tiles[-1][1] == 4 * 3  # tile 32 step 24 over 96 x 64
    assert [d for d, _ in tiles] == list(range(1, 13))
    blocks = 3 * 2
    assert stitch[0] == (0, 2 * blocks)  # the stage is announced before its first (slow) block
    assert [d for d, _ in stitch] == list(range(0, 2 * blocks + 1)) and {t for _, t in stitch} == {2 * blocks}
    # the same prediction as without progress (progress changes nothing)
    ref = predict(load_model(instance_model), crop, tile=32, overlap=8, instance_block=BLOCK, instance_halo=8)
    np.testing.assert_array_equal(pred.labels, ref.labels)


def test_plain_callback_sees_both_stages_without_keyword(instance_model, crop):
    calls = []
    predict(load_model(instance_model), crop, tile=32, overlap=8, instance_block=BLOCK, instance_halo=8,
            progress=lambda done, total: calls.append((done, total)))
    ends = [c for c in calls if c[0] == c[1]]
    assert ends == [(12, 12), (12, 12)]  # 12 tiles, then 2 passes x 6 blocks
    assert calls[12] == (0, 12)  # the second stage restarts at 0


def test_one_block_image_has_no_stitching_stage(instance_model, crop):
    rec = Recorder()
    predict(load_model(instance_model), crop, tile=32, overlap=8, progress=rec)  # default block 1024
    assert rec.stages() == ["tiles"]


def test_cancel_during_stitching_raises_interrupted(instance_model, crop):
    rec = Recorder()
    with pytest.raises(InterruptedError):
        predict(load_model(instance_model), crop, tile=32, overlap=8, instance_block=BLOCK, instance_halo=8,
                progress=rec, cancel=lambda: bool(rec.of("stitching")) and rec.of("stitching")[-1][0] >= 3)
    assert rec.stages() == ["tiles", "stitching"] and rec.of("stitching")[-1][0] == 3  # stopped mid-way


@pytest.mark.parametrize("how", ["cancel", "ctrl-c"])
def test_predict_large_stopped_while_stitching_leaves_nothing(tmp_path, instance_model, crop, how):
    write(tmp_path / "cells.tif", crop)
    out = tmp_path / "o"
    out.mkdir()
    rec = Recorder()

    def progress(done, total, stage):
        rec(done, total, stage)
        if how == "ctrl-c" and stage == "stitching" and done == 1:
            raise KeyboardInterrupt

    error = InterruptedError if how == "cancel" else KeyboardInterrupt
    with pytest.raises(error):
        predict_large(load_model(instance_model), read(tmp_path / "cells.tif", lazy=True), out, "cells",
                      tile=32, probabilities=True, progress=progress,
                      cancel=lambda: len(rec.of("stitching")) > 1)
    assert rec.stages() == ["tiles", "stitching"]
    assert list(out.iterdir()) == []  # no outputs, no temporary groups, no scratch


def test_cli_large_path_shows_stitching_stage(tmp_path, instance_model, crop, capsys):
    write(tmp_path / "cells.tif", crop)
    assert main(["predict", str(tmp_path / "cells.tif"), "--model", str(instance_model), "--output",
                 str(tmp_path / "o"), "--tile", "32", "--large-threshold", "0.001"]) == 0
    err = capsys.readouterr().err
    assert "reading it lazily" in err
    # tqdm redraws at most every 0.1 s: only the start of each stage is sure to be drawn
    stitching = err[err.index("cells stitching"):]
    assert "/2 [" in stitching and "block/s" in stitching  # one block (default 1024): 2 passes
    assert "tile/s" in err[:err.index("cells stitching")]  # the tile stage came first


def test_cli_ctrl_c_while_stitching_leaves_no_outputs(tmp_path, instance_model, crop, capsys, monkeypatch):
    import bioimg.inference.stitch as stitch

    def interrupted(*args, **kwargs):  # Ctrl-C arrives while the first block is being labelled
        raise KeyboardInterrupt

    write(tmp_path / "cells.tif", crop)
    monkeypatch.setattr(stitch, "instances_from_probs", interrupted)
    out = tmp_path / "o"
    assert main(["predict", str(tmp_path / "cells.tif"), "--model", str(instance_model), "--output",
                 str(out), "--tile", "32", "--large-threshold", "0.001"]) == 130
    err = capsys.readouterr().err
    assert "cells stitching" in err and "interrupted" in err
    assert list(out.iterdir()) == []
