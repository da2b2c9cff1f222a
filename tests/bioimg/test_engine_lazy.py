"""The one engine: lazy inputs equal in-memory ones, NaN pixels, blocks of boxes bit-identical."""
from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import autograd as torch
from bioimg.inference import predict
from bioimg.inference.engine import Source, make_plan, run_tiles
from bioimg.modelfile import BioimgModel, ModelInfo
from bioimg.models import UNet


def _model(task: str = "segment") -> BioimgModel:
    torch.manual_seed(0)
    net = UNet(1, 2, depth=1, base_width=4)
    info = ModelInfo(task=task, architecture="unet", config=net.config, axes="YX", patch_size=[16, 16],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["a", "b"], extra={"label_offset": 0})
    return BioimgModel(net, info)


def test_dask_input_with_nan_equals_in_memory():
    img = np.random.default_rng(0).normal(100, 20, (70, 90)).astype(np.float32)
    img[5:9, 40:44] = np.nan
    model = _model()
    with pytest.warns(UserWarning, match="NaN"):
        ref = predict(model, img, tile=32, overlap=8)
    with pytest.warns(UserWarning, match="16 NaN"):
        lazy = predict(model, da.from_array(img, chunks=(17, 40)), tile=32, overlap=8)
    np.testing.assert_array_equal(lazy.labels, ref.labels)
    np.testing.assert_allclose(lazy.probabilities, ref.probabilities, atol=1e-6)
    assert (lazy.probabilities[:, 5:9, 40:44] == 0).all() and (lazy.labels[5:9, 40:44] == 0).all()


def test_blocks_of_boxes_are_bit_identical_to_the_full_run():
    torch.manual_seed(0)
    net = UNet(1, 2, depth=1, base_width=4)
    x = np.random.default_rng(1).normal(size=(1, 100, 75)).astype(np.float32)
    plan = make_plan(x.shape[1:], (32, 32), (8, 8), 2)
    full = np.zeros((2,) + x.shape[1:], np.float32)
    parts = np.zeros_like(full)
    seen = []

    def into(out):
        def emit(box, logits):
            seen.append(box)
            out[(slice(None),) + box] = logits
        return emit

    run_tiles(net, Source(x), 2, plan, into(full))
    n_full = len(seen)
    g0, g1 = plan.grid
    for rows in ((0, 2), (2, g0)):
        for cols in ((0, 1), (1, g1)):
            run_tiles(net, Source(x), 2, plan, into(parts), boxes=(rows, cols))
    assert len(seen) == 2 * n_full == 2 * g0 * g1  # each box emitted once by the blocks
    np.testing.assert_array_equal(parts, full)
