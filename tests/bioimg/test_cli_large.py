"""``bioimg predict`` on large inputs: lazy reads, OME-Zarr / tiled TIFF outputs, Ctrl-C safety."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

import autograd as torch
from bioimg.cli import main
from bioimg.io import read, write
from bioimg.modelfile import BioimgModel, ModelInfo, load_model, save_model
from bioimg.models import build_model

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def instance_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 3, "ndim": 2, "depth": 1, "base_width": 4}
    net = build_model("unet", **cfg)
    info = ModelInfo(task="instance", architecture="unet", config=cfg, axes="YX", patch_size=[32, 32],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["nucleus"])
    return save_model(BioimgModel(net, info), tmp_path_factory.mktemp("m") / "inst.bioimg")


@pytest.fixture
def image_tif(tmp_path) -> Path:
    img = tifffile.imread(SAMPLE / "nuclei2d_image.tif")[:200, :160]
    path = tmp_path / "cells.tif"
    write(path, img, spacing=(0.5, 0.5), unit="micrometer")
    return path


def test_large_input_goes_to_ome_zarr_and_equals_in_memory(tmp_path, image_tif, small_model, capsys):
    small, big = tmp_path / "small", tmp_path / "big"
    assert main(["predict", str(image_tif), "--model", str(small_model), "--output", str(small),
                 "--probabilities", "--tile", "64"]) == 0
    capsys.readouterr()
    assert main(["predict", str(image_tif), "--model", str(small_model), "--output", str(big),
                 "--probabilities", "--tile", "64", "--large-threshold", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "reading it lazily" in err and "OME-Zarr" in err and "cells_*.ome.zarr" in err
    ref = read(small / "cells_labels.tif")
    lab = read(big / "cells_labels.ome.zarr")
    assert lab.metadata["format"] == "ome-zarr" and lab.metadata["ngff_version"] == "0.5"
    assert lab.spacing == (0.5, 0.5) and lab.unit == "micrometer"
    np.testing.assert_array_equal(np.asarray(lab.data), ref.data)
    probs = read(big / "cells_probabilities.ome.zarr")
    np.testing.assert_allclose(np.asarray(probs.data), read(small / "cells_probabilities.tif").data,
                               atol=1e-6)
    assert not [p for p in big.iterdir() if p.name.startswith(".")]  # no scratch or temp left
    # a second run finds the outputs and skips the file
    assert main(["predict", str(image_tif), "--model", str(small_model), "--output", str(big),
                 "--large-threshold", "0.01", "--probabilities"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_multiscale_pyramid_levels(tmp_path, small_model):
    img = np.tile(tifffile.imread(SAMPLE / "nuclei2d_image.tif"), (1, 5))  # 512 x 1280
    write(tmp_path / "wide.tif", img)
    assert main(["predict", str(tmp_path / "wide.tif"), "--model", str(small_model), "--output",
                 str(tmp_path / "o"), "--large-threshold", "0.1"]) == 0
    group = zarr.open_group(str(tmp_path / "o" / "wide_labels.ome.zarr"), mode="r")
    ms = group.attrs["ome"]["multiscales"][0]
    assert [d["path"] for d in ms["datasets"]] == ["0", "1", "2"]
    assert group["1"].shape == (256, 640) and group["2"].shape == (128, 320)
    assert ms["datasets"][2]["coordinateTransformations"][0]["scale"] == [4.0, 4.0]
    np.testing.assert_array_equal(group["1"][:], group["0"][:][::2, ::2])


def test_instance_model_large_tiff_output_and_ome_zarr_input(tmp_path, image_tif, instance_model, capsys):
    out = tmp_path / "o"
    assert main(["predict", str(image_tif), "--model", str(instance_model), "--output", str(out),
                 "--large-threshold", "0.01", "--large-format", "tiff"]) == 0
    assert "tiled TIFF" in capsys.readouterr().err
    with tifffile.TiffFile(out / "cells_labels.tif") as tif:
        assert tif.pages[0].is_tiled
    lab = read(out / "cells_labels.tif")
    ref = load_model(instance_model)
    from bioimg.inference import predict
    want = predict(ref, read(image_tif), tile=(64, 64))
    np.testing.assert_array_equal(lab.data > 0, want.labels > 0)
    # an OME-Zarr directory is an input too (small: OME-TIFF outputs next to it)
    write(tmp_path / "cells.ome.zarr", read(image_tif))
    assert main(["predict", str(tmp_path / "cells.ome.zarr"), "--model", str(instance_model),
                 "--output", str(tmp_path / "z")]) == 0
    assert (tmp_path / "z" / "cells_labels.ome.tif").exists()


def test_ctrl_c_leaves_no_partial_outputs(tmp_path, image_tif, instance_model):
    from bioimg.scale._predict_large import predict_large

    model = load_model(instance_model)
    out = tmp_path / "o"
    out.mkdir()
    calls = []

    def progress(done, total):
        calls.append(done)
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        predict_large(model, read(image_tif, lazy=True), out, "cells", probabilities=True,
                      progress=progress)
    assert calls == [1, 2, 3]
    assert list(out.iterdir()) == []
