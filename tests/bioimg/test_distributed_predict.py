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
    return save_model(BioimgModel(build_model("unet", **cfg), info), tmp_path / f"{task}.bioimg")


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
    outs = predict_distributed(model_path, tmp_path / "cells.tif", tmp_path / "out", client,
                               tile=32, overlap=8, instance_block=48, instance_halo=16)
    assert len(outs["workers"]) == 2  # both workers predicted part of the one image
    ref = predict(load_model(model_path), read(tmp_path / "cells.tif"), tile=32, overlap=8,
                  instance_block=48, instance_halo=16)
    np.testing.assert_array_equal(outs["probabilities"][:], ref.probabilities)
    np.testing.assert_array_equal(outs["labels"][:], ref.labels)  # instance: stitched on the client


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
