"""Streaming tiled prediction into zarr equals in-memory tiled prediction."""
from __future__ import annotations

import tracemalloc

import dask.array as da
import numpy as np
import pytest

import autograd as torch
from bioimg.inference import predict, predict_tiled
from bioimg.inference.postprocess import softmax
from bioimg.modelfile import BioimgModel, ModelInfo
from bioimg.models import UNet
from bioimg.scale import predict_to_zarr
from bioimg.training.prep import normalize_image

NORM = {"method": "percentile", "pmin": 1.0, "pmax": 99.8}


def _model(ndim: int = 2) -> BioimgModel:
    torch.manual_seed(0)
    net = UNet(1, 2, ndim=ndim, depth=1, base_width=4)
    axes = "YX" if ndim == 2 else "ZYX"
    info = ModelInfo(task="segment", architecture="unet", config=net.config, axes=axes,
                     patch_size=[32] * ndim if ndim == 2 else [8, 16, 16],
                     normalization=dict(NORM), class_names=["a", "b"])
    return BioimgModel(net, info)


def _image(shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, size=shape).astype(np.uint16)


def _reference(model: BioimgModel, img: np.ndarray, tile, overlap) -> np.ndarray:
    x, _ = normalize_image(img[None], model.info.normalization)
    logits = predict_tiled(model.net, x, 2, tile, overlap, model.net.size_multiple)
    return softmax(logits, 0)


@pytest.mark.parametrize("shape,tile,overlap", [
    ((70, 90), (32, 32), (8, 8)),
    ((64, 64), (32, 32), (12, 4)),
    ((20, 50), (32, 32), (8, 8)),   # tile taller than the image: padded
])
def test_stream_equals_in_memory_2d(tmp_path, shape, tile, overlap):
    model = _model(2)
    img = _image(shape)
    out = predict_to_zarr(model, img, tmp_path / "p.zarr", tile=tile, overlap=overlap)
    ref = _reference(model, img, tile, overlap)
    assert out.shape == ref.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[:], ref, rtol=1e-6, atol=1e-6)
    assert out.attrs["axes"] == "CYX" and out.attrs["normalization"]["pmin"] == 1.0


def test_stream_equals_in_memory_3d(tmp_path):
    model = _model(3)
    img = _image((22, 20, 24), 1)
    tile, overlap = (8, 16, 16), (2, 4, 4)
    out = predict_to_zarr(model, img, tmp_path / "p.zarr", tile=tile, overlap=overlap)
    np.testing.assert_allclose(out[:], _reference(model, img, tile, overlap), rtol=1e-6, atol=1e-6)


def test_stream_dask_input_and_labels_match_predict(tmp_path):
    model = _model(2)
    img = _image((96, 80), 2)
    lazy = da.from_array(img, chunks=(17, 33))
    probs = predict_to_zarr(model, lazy, tmp_path / "p.zarr", tile=32, overlap=8)
    labels = predict_to_zarr(model, lazy, tmp_path / "l.zarr", tile=32, overlap=8, output="labels")
    ref = predict(model, img, tile=(32, 32), overlap=(8, 8))
    np.testing.assert_allclose(probs[:], ref.probabilities, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(labels[:], ref.labels)
    assert labels.dtype == np.uint8 and labels.attrs["axes"] == "YX"


def test_stream_channel_axis_and_image(tmp_path):
    from bioimg.io import Image
    model = _model(2)
    img = _image((48, 40), 3)
    out1 = predict_to_zarr(model, img[None], tmp_path / "a.zarr", axes="CYX", tile=32, overlap=8)
    out2 = predict_to_zarr(model, Image(img, "YX", (1.0, 1.0), "pixel"), tmp_path / "b.zarr", tile=32, overlap=8)
    np.testing.assert_array_equal(out1[:], out2[:])


def test_stream_progress_cancel_and_errors(tmp_path):
    model = _model(2)
    img = _image((64, 64))
    calls = []
    predict_to_zarr(model, img, tmp_path / "p.zarr", tile=32, overlap=8,
                    progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] == len(calls) == 9
    with pytest.raises(InterruptedError):
        predict_to_zarr(model, img, tmp_path / "c.zarr", tile=32, overlap=8,
                        cancel=lambda: len(calls) > 10, progress=lambda d, t: calls.append(d))
    assert not (tmp_path / "c.zarr").exists()
    with pytest.raises(ValueError, match="output"):
        predict_to_zarr(model, img, tmp_path / "x.zarr", output="nope")
    with pytest.raises(ValueError, match="2D"):
        predict_to_zarr(model, _image((8, 16, 16)), tmp_path / "x.zarr")
    model.info.task = "instance"
    with pytest.raises(ValueError, match="watershed"):
        predict_to_zarr(model, img, tmp_path / "x.zarr", output="labels")


def test_stream_memory_bounded_by_tile(tmp_path):
    model = _model(2)
    size, channels = 1024, 2
    img = np.lib.format.open_memmap(tmp_path / "img.npy", mode="w+", dtype=np.uint16,
                                    shape=(size, size))
    img[:] = _image((size, size))
    img.flush()
    lazy = da.from_array(np.load(tmp_path / "img.npy", mmap_mode="r"), chunks=(64, size))
    # warm up: imports and the convolution's workspace are not image-sized
    predict_to_zarr(model, lazy[:256, :256], tmp_path / "w.zarr", tile=128, overlap=32)
    # exact percentiles cost one histogram per chunk (bioimg.scale.percentiles_chunked,
    # chunk-sized, not image-sized): measured without them, the streaming itself
    model.info.normalization = {"method": "none"}
    tracemalloc.start()
    try:
        predict_to_zarr(model, lazy, tmp_path / "p.zarr", tile=128, overlap=32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = 2 * size * size * 4 * channels  # in-memory sum + probabilities, float32
    # ~8 MiB measured: band accumulators + zarr chunk buffers, fixed for a given tile/width
    assert peak < 0.55 * full, f"peak {peak / 2**20:.1f} MiB vs {full / 2**20:.1f} MiB"
