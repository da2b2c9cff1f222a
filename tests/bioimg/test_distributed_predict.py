"""One image split across two dask.distributed workers equals the single-process prediction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

import autograd as torch
from bioimg.inference import predict
from bioimg.io import read, write
from bioimg.modelfile import BioimgModel, ModelInfo, load_model, save_model
from bioimg.models import build_model
from bioimg.scale._distributed import predict_distributed

distributed = pytest.importorskip("distributed")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _model(tmp_path: Path, task: str) -> Path:
    torch.manual_seed(1)
    out_c = 3 if task == "instance" else 2
    cfg = {"in_channels": 1, "out_channels": out_c, "ndim": 2, "depth": 1, "base_width": 4}
    info = ModelInfo(task=task, architecture="unet", config=cfg, axes="YX", patch_size=[16, 16],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["a"] * (out_c - 1), extra={"label_offset": 0})
    net = build_model("unet", **cfg)
    if task == "instance":  # random weights find no objects: the stitching would compare empty labels
        _follow_intensity(net)
    return save_model(BioimgModel(net, info), tmp_path / f"{task}.bioimg")


def _follow_intensity(net, gain: float = 12.0, level: float = 0.25) -> None:
    """Set a depth-1 instance U-Net's weights so its interior probability follows the image.

    Channel 0 carries the (3x3 box-smoothed, twice) normalized intensity through the down
    block and the skip; batch norms are identities and every other path is zero. The head
    turns it into interior logit ``gain * (s - level)`` against background 0 (boundary off):
    bright nuclei become objects, found by the same watershed as a trained model's. On the
    test crop it finds 8 objects, 7 of them matching the sample's ground truth at IoU 0.5.
    """
    box, centre = np.full((3, 3), 1 / 9, np.float32), np.zeros((3, 3), np.float32)
    centre[1, 1] = 1
    state = {}
    for key, value in net.state_dict().items():
        arr = np.zeros(value.shape, np.float32)
        if key.endswith("running_var") or (key.endswith(".weight") and arr.ndim == 1):
            arr[:] = 1  # batch norm scale / variance
        state[key] = arr
    state["down.0.0.weight"][0, 0] = state["down.0.3.weight"][0, 0] = box
    state["merge.0.0.weight"][0, 0] = state["merge.0.3.weight"][0, 0] = centre  # skip channel 0 is first
    state["head.weight"][1, 0] = gain
    state["head.bias"][:] = [0.0, -gain * level, -20.0]
    net.load_state_dict({key: torch.from_numpy(arr) for key, arr in state.items()})


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.mark.parametrize("task", ["segment", "instance"])
def test_one_image_split_across_two_workers_equals_single_process(tmp_path, client, task):
    img = tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:160, :96]
    write(tmp_path / "cells.tif", img)
    model_path = _model(tmp_path, task)
    block = 32  # instance labels: 5 x 3 blocks, stitched
    calls = []
    outs = predict_distributed(model_path, tmp_path / "cells.tif", tmp_path / "out", client,
                               tile=32, overlap=8, instance_block=block, instance_halo=16,
                               progress=lambda done, total, stage: calls.append((stage, done, total)))
    stages = {stage: [(d, t) for s, d, t in calls if s == stage] for stage, _, _ in calls}
    assert list(stages) == (["tiles", "stitching"] if task == "instance" else ["tiles"])
    assert all(seq[-1][0] == seq[-1][1] for seq in stages.values())  # each stage reaches its total
    assert stages.get("stitching", [(0, 30)])[-1][1] == 2 * 5 * 3  # two passes over 5 x 3 blocks
    assert len(outs["workers"]) == 2  # both workers predicted part of the one image
    ref = predict(load_model(model_path), read(tmp_path / "cells.tif"), tile=32, overlap=8,
                  instance_block=block, instance_halo=16)
    np.testing.assert_array_equal(outs["probabilities"][:], ref.probabilities)
    if task == "instance":  # the comparison below means something: real nuclei, cut by block borders
        from bioimg.metrics import match_instances

        assert ref.summary["objects"] >= 5 and outs["objects"] == ref.summary["objects"]
        gt = tifffile.imread(SAMPLE / "nuclei2d_labels.tif")[:160, :96]
        assert match_instances(ref.labels, gt)["tp"] >= 5  # they are the sample's nuclei
        blocks_of = [{(y // block, x // block) for y, x in np.argwhere(ref.labels == i)}
                     for i in range(1, ref.summary["objects"] + 1)]
        assert sum(len(b) > 1 for b in blocks_of) >= 3  # objects stitched across block (and tile) borders
    np.testing.assert_array_equal(outs["labels"][:], ref.labels)  # instance: stitched on the client


def test_cancel_while_stitching_on_the_client(tmp_path, client):
    img = tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:96, :64]
    write(tmp_path / "cells.tif", img)
    calls = []
    with pytest.raises(InterruptedError):
        predict_distributed(_model(tmp_path, "instance"), tmp_path / "cells.tif", tmp_path / "out", client,
                            tile=32, overlap=8, instance_block=32,
                            progress=lambda done, total, stage: calls.append(stage),
                            cancel=lambda: calls.count("stitching") > 2)
    assert calls.count("stitching") == 3 and not (tmp_path / "out" / "instance_ids").exists()


def test_cli_scheduler_splits_one_large_image(tmp_path, client, capsys):
    from bioimg.cli import main

    img = tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:160, :96]
    write(tmp_path / "cells.tif", img)
    model_path = _model(tmp_path, "segment")
    argv = ["predict", str(tmp_path / "cells.tif"), "--model", str(model_path), "--tile", "32",
            "--large-threshold", "0.01"]
    assert main(argv + ["--output", str(tmp_path / "one")]) == 0
    assert main(argv + ["--output", str(tmp_path / "split"), "--scheduler", client.scheduler.address]) == 0
    assert "split across the cluster's workers" in capsys.readouterr().err
    one = read(tmp_path / "one" / "cells_labels.ome.zarr")
    split = read(tmp_path / "split" / "cells_labels.ome.zarr")
    np.testing.assert_array_equal(np.asarray(split.data), np.asarray(one.data))
    assert not [p for p in (tmp_path / "split").iterdir() if p.name.startswith(".")]
