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


@pytest.mark.parametrize("shape", [(40, 37), (13, 51, 29)])
def test_tiles_on_the_grid_read_real_pixels_at_the_end(monkeypatch, shape):
    """Tile starts are k * step (box borders on chunk borders, nominal overlaps); a last tile
    running past the image end is read flush with the end: the network never sees padding
    in an image at least a tile large, and the result equals the flush-read of each tile."""
    import importlib

    E = importlib.import_module("bioimg.inference.engine")
    torch.manual_seed(0)
    net = UNet(1, 2, ndim=len(shape), depth=1, base_width=4)
    x = np.random.default_rng(3).normal(size=(1,) + shape).astype(np.float32)
    tile, overlap = (8,) * len(shape), (2,) * len(shape)
    plan = make_plan(shape, tile, overlap, 2)
    assert all(list(st) == list(range(0, 6 * len(st), 6)) for st in plan.starts)  # on the grid
    assert all(st[-1] + 8 > n for st, n in zip(plan.starts, shape))  # last tiles run past the end
    assert E._starts(20, 8, 6) == [0, 6, 12] and E._starts(21, 8, 6) == [0, 6, 12, 18] and E._starts(5, 8, 6) == [0]
    blocks = []
    real = E._padded
    monkeypatch.setattr(E, "_padded", lambda b, t: blocks.append(b.shape[1:]) or real(b, t))
    out = np.zeros((2,) + shape, np.float32)

    def emit(box, logits):
        out[(slice(None),) + box] = logits
    run_tiles(net, Source(x), 2, plan, emit)
    assert len(blocks) == plan.total and set(blocks) == {tile}  # every tile read whole: no padding
    # the last corner tile: its prediction is the network on the flush window, shifted onto the grid
    corner = tuple(n - 1 for n in shape)
    net.eval()
    with torch.no_grad():
        flush = net(torch.from_numpy(x[(None, slice(None)) + tuple(slice(n - 8, n) for n in shape)])).numpy()[0]
    np.testing.assert_allclose(out[(slice(None),) + corner], flush[(slice(None),) + (7,) * len(shape)],
                               rtol=1e-5, atol=1e-6)
