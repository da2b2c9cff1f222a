"""Saliency follows the model's label convention: background is never the explained class."""
from __future__ import annotations

import numpy as np

import autograd as torch
from bioimg.explain import saliency
from bioimg.modelfile import BioimgModel, ModelInfo
from bioimg.models import build_model


def _model(label_offset: int) -> BioimgModel:
    torch.manual_seed(0)
    net = build_model("unet", in_channels=1, out_channels=2, ndim=2, depth=1, base_width=4)
    with torch.no_grad():  # channel 0 wins everywhere: every pixel is predicted as class index 0
        net.state_dict()[[k for k in net.state_dict() if k.endswith("bias")][-1]].data[:] = [50.0, -50.0]
    info = ModelInfo(task="segment", architecture="unet", config={"ndim": 2}, axes="YX",
                     normalization={"method": "none"}, extra={"label_offset": label_offset})
    return BioimgModel(net, info)


def test_dense_mask_model_does_not_explain_background():
    image = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    # sparse-painting model: channel 0 is "class 1", a real painted class -> explained
    assert saliency(_model(1), image).max() > 0
    # dense-mask model: channel 0 is background -> nothing to explain where all is background
    np.testing.assert_array_equal(saliency(_model(0), image), 0)
    # an explicit target still explains that channel
    assert saliency(_model(0), image, target=1).max() > 0
