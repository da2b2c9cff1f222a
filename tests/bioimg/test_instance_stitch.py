"""Instance labels made block by block agree with labels made in one piece (no seams)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

import autograd as torch
from bioimg.inference import instances_blockwise, instances_from_probs, predict
from bioimg.metrics import match_instances
from bioimg.modelfile import BioimgModel, ModelInfo

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _mosaic() -> tuple[np.ndarray, np.ndarray]:
    """2 x 2 mosaic of the nuclei sample (a flipped copy per quadrant): 1024 x 512, 4 x 73 nuclei."""
    img = tifffile.imread(SAMPLE / "nuclei2d_image.tif")
    lab = tifffile.imread(SAMPLE / "nuclei2d_labels.tif").astype(np.int64)
    rows_i, rows_l = [], []
    for flip_y in (False, True):
        im_row, lab_row = [], []
        for k, flip_x in enumerate((False, True)):
            im, lb = img, lab
            if flip_y:
                im, lb = im[::-1], lb[::-1]
            if flip_x:
                im, lb = im[:, ::-1], lb[:, ::-1]
            im_row.append(im)
            lab_row.append(np.where(lb > 0, lb + 100 * (2 * flip_y + k), 0))
        rows_i.append(np.concatenate(im_row, 1))
        rows_l.append(np.concatenate(lab_row, 1))
    return np.concatenate(rows_i, 0), np.concatenate(rows_l, 0)


def _probs_from_labels(labels: np.ndarray) -> np.ndarray:
    """(background, interior, boundary) probabilities as a good model gives them, a little blurred."""
    boundary = find_boundaries(labels, mode="inner") & (labels > 0)
    interior = (labels > 0) & ~boundary
    p = np.stack([labels == 0, interior, boundary]).astype(np.float32)
    p = np.stack([ndi.gaussian_filter(c, 0.7) for c in p]) + 1e-3
    return p / p.sum(0, keepdims=True)


def test_blockwise_instances_match_whole_image_on_nuclei_mosaic():
    _, gt = _mosaic()
    probs = _probs_from_labels(gt)
    whole = instances_from_probs(probs, min_size=10)
    out = np.zeros(gt.shape, np.uint32)
    # 64 px blocks: 16 x 8 blocks, most of the 292 nuclei touch or cross a block border
    n = instances_blockwise(probs, out, block=64, halo=24, min_size=10)
    m = match_instances(out, whole, 0.5)
    assert m["f1"] >= 0.99, m
    assert n == int(out.max()) == len(np.unique(out)) - 1  # ids 1..N, no gaps
    assert abs(n - whole.max()) <= 0.01 * whole.max()
    # an object crossing a block border has one id on both sides
    crossing = [i for i in np.unique(whole)[1:]
                if len({int(v) // 64 for v in np.nonzero(whole == i)[1]}) > 1]
    assert len(crossing) > 50
    split = [i for i in crossing if len(np.unique(out[(whole == i) & (out > 0)])) > 1]
    assert len(split) <= 0.01 * len(crossing), split


def test_blockwise_without_halo_would_split_objects():
    """The check above can fail: with no halo and no matching, border objects split in two."""
    _, gt = _mosaic()
    probs = _probs_from_labels(gt)[:, :256, :256]
    whole = instances_from_probs(probs, min_size=10)
    out = np.zeros(whole.shape, np.uint32)
    instances_blockwise(probs, out, block=64, halo=0, min_size=1)
    assert int(out.max()) > whole.max()  # matching needs an overlap to see the same object


def _pointwise_instance_model() -> BioimgModel:
    """A 1x1-convolution "model": bright pixels are nucleus interior (tile-independent output)."""
    conv = torch.nn.Conv2d(1, 3, 1)
    w = np.array([-12.0, 12.0, 0.0], np.float32).reshape(3, 1, 1, 1)
    b = np.array([3.6, -3.6, -2.0], np.float32)
    conv.weight.data[...] = w
    conv.bias.data[...] = b
    info = ModelInfo(task="instance", architecture="unet", config={"in_channels": 1, "out_channels": 3},
                     axes="YX", patch_size=[64, 64],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["nucleus"])
    return BioimgModel(conv, info)


def test_predict_tiled_instances_agree_with_untiled():
    image, _ = _mosaic()
    model = _pointwise_instance_model()
    # min_size 30: nuclei are >100 px; 10 px watershed slivers flip with marker order, tiled or not
    untiled = predict(model, image, tile=(1024, 512), instance_block=2048, min_size=30)
    tiled = predict(model, image, tile=64, overlap=16, instance_block=96, instance_halo=32, min_size=30)
    assert untiled.labels.max() > 150
    m = match_instances(tiled.labels, untiled.labels, 0.5)
    assert m["f1"] >= 0.99, m
    assert tiled.labels.dtype == np.uint16 and tiled.summary["objects"] == int(tiled.labels.max())


def test_instance_model_with_two_channels_is_refused():
    model = _pointwise_instance_model()
    model.info.config["out_channels"] = 2
    with pytest.raises(ValueError, match="3 probability channels"):
        predict(model, np.zeros((32, 32), np.float32))
