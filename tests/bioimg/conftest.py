import numpy as np
import pytest


@pytest.fixture
def blobs2d():
    """A small synthetic 2D image with bright disks and their instance mask."""
    rng = np.random.default_rng(0)
    h = w = 64
    yy, xx = np.mgrid[:h, :w]
    labels = np.zeros((h, w), np.uint16)
    k = 0
    for cy in range(10, h, 18):
        for cx in range(10, w, 18):
            k += 1
            r = 5 + (k % 3)
            labels[(yy - cy - rng.integers(-2, 3)) ** 2 + (xx - cx) ** 2 <= r * r] = k
    image = (labels > 0).astype(np.float32) * 200 + 20 + rng.normal(0, 10, (h, w)).astype(np.float32)
    return image.astype(np.float32), labels


@pytest.fixture
def blobs3d():
    rng = np.random.default_rng(1)
    d, h, w = 16, 32, 32
    zz, yy, xx = np.mgrid[:d, :h, :w]
    labels = np.zeros((d, h, w), np.uint16)
    for k, (cz, cy, cx) in enumerate([(8, 8, 8), (8, 22, 20), (6, 10, 24)], 1):
        labels[(zz - cz) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2 <= 25] = k
    image = (labels > 0) * 100.0 + 10 + rng.normal(0, 5, labels.shape)
    return image.astype(np.float32), labels


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A tiny valid 2D segment model file (module-scoped): the base of hostile-file and fuzz tests."""
    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo, save_model
    from bioimg.models import build_model

    torch.manual_seed(0)
    net = build_model("unet", in_channels=1, out_channels=2, ndim=2, depth=1, base_width=4)
    info = ModelInfo(task="segment", architecture="unet",
                     config={"in_channels": 1, "out_channels": 2, "ndim": 2, "depth": 1, "base_width": 4},
                     axes="YX", patch_size=[32, 32], normalization={"method": "percentile", "pmin": 1.0},
                     class_names=["object"], history=[{"epoch": 1, "val_metric": 0.5}],
                     extra={"label_kind": "binary", "label_offset": 0})
    return save_model(BioimgModel(net, info), tmp_path_factory.mktemp("m") / "small.bioimg")
