"""OME-Zarr opened lazily by the reader; Predict on the dask layer without loading it; cancel per tile."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture
def ome_zarr(tmp_path) -> Path:
    """The nuclei sample tiled to 1024 x 1024, as a 2-level OME-Zarr pyramid."""
    from bioimg.io._zarr import NgffWriter

    img = np.tile(tifffile.imread(SAMPLE / "nuclei2d_image.tif"), (2, 4))
    path = tmp_path / "cells.ome.zarr"
    with NgffWriter(path, "YX", img.shape, img.dtype, (256, 256), spacing=(0.5, 0.5),
                    unit="micrometer", name="cells") as w:
        w.array[:] = img
        w.commit()
    return path


@pytest.fixture
def seg_model(tmp_path) -> Path:
    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo, save_model
    from bioimg.models import build_model

    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 2, "ndim": 2, "depth": 1, "base_width": 4}
    info = ModelInfo(task="segment", architecture="unet", config=cfg, axes="YX", patch_size=[32, 32],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["background", "nuclei"], extra={"label_offset": 0})
    return save_model(BioimgModel(build_model("unet", **cfg), info), tmp_path / "seg.bioimg")


def test_reader_opens_ome_zarr_lazily_as_multiscale(viewer, ome_zarr):
    import dask.array as da

    layers = viewer.open(str(ome_zarr), plugin="bioimg")
    layer = layers[0]
    assert layer.multiscale and len(layer.data) == 2  # 1024 -> 512 (levels stop at <= 512 px)
    assert all(isinstance(level, da.Array) for level in layer.data)
    assert layer.data[0].shape == (1024, 1024) and tuple(layer.scale) == (0.5, 0.5)


def test_predict_on_lazy_layer_writes_zarr_and_shows_dask(viewer, dock, click, wait, notes, ome_zarr,
                                                         seg_model):
    import dask.array as da

    from bioimg.inference import predict as run_predict
    from bioimg.modelfile import load_model

    layer = viewer.open(str(ome_zarr), plugin="bioimg")[0]
    widget = dock(viewer, "Predict")
    assert widget.load_model(seg_model) == "seg.bioimg"
    widget.image.value = layer
    widget.large_mpx = 0.5  # 1 Mpx layer: the large-image path (temporary zarr, lazy result)
    widget.tile.value = "128"
    seen = []
    widget.relay.changed.connect(lambda done, total: seen.append((done, total)))
    click(widget)
    wait(widget, 180)
    assert not notes.errors, notes.errors
    out = viewer.layers["cells classes"]
    assert isinstance(out.data, da.Array)  # shown lazily from the store
    assert tuple(out.scale) == (0.5, 0.5)
    ref = run_predict(load_model(seg_model), np.asarray(layer.data[0]), tile=(128, 128))
    np.testing.assert_array_equal(np.asarray(out.data), ref.labels)
    assert seen and seen[-1][0] == seen[-1][1] == 121  # progress per tile (11 x 11 tiles)


def test_cancel_stops_between_tiles(viewer, dock, click, wait, notes, qtbot, ome_zarr, seg_model):
    layer = viewer.open(str(ome_zarr), plugin="bioimg")[0]
    widget = dock(viewer, "Predict")
    widget.load_model(seg_model)
    widget.image.value = layer
    widget.tile.value = "32"  # ~1400 tiles: long enough to cancel in the middle
    seen = []
    widget.relay.changed.connect(lambda done, total: seen.append(done))
    click(widget)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=60000)
    click(widget)  # the same button cancels
    wait(widget, 120)
    assert "cells classes" not in viewer.layers
    assert seen[-1] < 1000
    assert widget.status.text() == "predict: cancelled"
