import numpy as np
import pytest

import autograd as torch
from bioimg.inference import blend_window, instances_from_probs, predict, predict_tiled
from bioimg.models import UNet
from bioimg.training import TrainConfig, fit


def test_blend_window_partition():
    w = blend_window((16, 16), (4, 4))
    assert w.shape == (16, 16) and w.max() == 1 and w.min() > 0


@pytest.mark.parametrize("ndim", [2, 3])
def test_tiled_equals_single_pass_when_tile_covers_image(ndim):
    torch.manual_seed(0)
    net = UNet(1, 2, ndim=ndim, depth=1, base_width=4)
    net.eval()
    shape = (24, 24) if ndim == 2 else (8, 16, 16)
    x = np.random.default_rng(0).normal(size=(1,) + shape).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x[None])).numpy()[0]
    out = predict_tiled(net, x, 2, tile=shape, overlap=0, multiple=2)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_tiled_close_to_single_pass_with_overlap():
    torch.manual_seed(0)
    net = UNet(1, 2, depth=1, base_width=4)
    net.eval()
    x = np.random.default_rng(1).normal(size=(1, 64, 80)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x[None])).numpy()[0]
    out = predict_tiled(net, x, 2, tile=(32, 32), overlap=(16, 16), multiple=2)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(out[inner] - ref[inner]).max() < 0.05 * np.abs(ref).max()


def test_tiling_progress_and_cancel():
    net = UNet(1, 2, depth=1, base_width=4)
    x = np.zeros((1, 40, 40), np.float32)
    seen = []
    predict_tiled(net, x, 2, tile=16, overlap=4, multiple=2, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] > 1
    with pytest.raises(InterruptedError):
        predict_tiled(net, x, 2, tile=16, overlap=4, multiple=2, cancel=lambda: True)


def test_instances_split_touching_objects():
    probs = np.zeros((3, 20, 30), np.float32)
    probs[0] = 1
    for x0 in (3, 16):
        probs[:, 5:15, x0:x0 + 11] = 0
        probs[1, 5:15, x0:x0 + 11] = 1
    probs[1, :, 13:16] = 0
    probs[2, 5:15, 13:16] = 1
    probs[0, :, 13:16] += (probs[2, :, 13:16] == 0)
    lab = instances_from_probs(probs, min_size=5)
    assert lab.max() == 2


def test_predict_end_to_end(blobs2d):
    image, inst = blobs2d
    cfg = TrainConfig(task="instance", epochs=2, steps_per_epoch=3, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 2, "base_width": 4})
    model = fit(image, inst, cfg)
    pred = predict(model, image)
    assert pred.labels.shape == image.shape and pred.probabilities.shape == (3,) + image.shape
    with pytest.raises(ValueError, match="2D"):
        predict(model, np.zeros((4, 8, 8), np.float32), axes="ZYX")
