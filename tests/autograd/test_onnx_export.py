"""autograd.onnx.export: onnxruntime reproduces the engine's outputs layer by layer."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as torch
import autograd.nn as nn
import autograd.nn.functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
aonnx = pytest.importorskip("autograd.onnx")


def _run_ort(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _check(tmp_path, net, shape, tol=1e-5, seed=0, **kw):
    torch.manual_seed(seed)
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))
    net.eval()
    with torch.no_grad():
        ref = net(x).numpy()
    path = tmp_path / "m.onnx"
    aonnx.export(net, x, path, **kw)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    got = _run_ort(path, x.numpy())
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=tol, rtol=tol)
    return path


class _Functional(nn.Module):
    """Ops called directly in forward (not through layers)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        y = torch.cat([y, x * 2.0 - 1.0], dim=1) / 3.0
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=True)
        y = F.interpolate(y, size=(5, 6), mode="bilinear", align_corners=False)
        y = F.pad(y, (1, 2, 0, 1), mode="reflect")
        y = F.gelu(y) + F.silu(y) - F.elu(y, 0.5) + F.softplus(y, beta=2.0)
        y = F.max_pool2d(y, 2, ceil_mode=True) + 0.5 * F.avg_pool2d(y, 2, ceil_mode=True)
        y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1, 7).transpose(1, 2).unsqueeze(1)
        return F.softmax(y.squeeze(1).flatten(1), dim=1)


LAYERS = [
    (lambda: nn.Sequential(nn.Conv1d(2, 4, 3, padding=2, dilation=2), nn.BatchNorm1d(4), nn.ReLU(),
                           nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1)), (2, 2, 9)),
    (lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=2, padding_mode="reflect"),
                           nn.GroupNorm(2, 4), nn.LeakyReLU(0.2),
                           nn.Conv2d(4, 6, 3, padding="same", padding_mode="replicate"),
                           nn.InstanceNorm2d(6, affine=True), nn.Tanh(),
                           nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1,
                                              groups=3),
                           nn.Upsample(scale_factor=2, mode="nearest"), nn.Sigmoid()), (1, 4, 6, 7)),
    (lambda: nn.Sequential(nn.Conv3d(1, 4, 3, stride=2, padding=1), nn.BatchNorm3d(4), nn.ELU(),
                           nn.MaxPool3d(2), nn.ConvTranspose3d(4, 2, 2, stride=2),
                           nn.Upsample(scale_factor=2, mode="trilinear", align_corners=True),
                           nn.AvgPool3d(2), nn.GELU(approximate="tanh")), (1, 1, 8, 8, 8)),
    (lambda: nn.Sequential(nn.ZeroPad2d(1), nn.Conv2d(1, 4, 3), nn.SiLU(), nn.AdaptiveAvgPool2d(2),
                           nn.Dropout(0.5), nn.Flatten(), nn.Linear(16, 5), nn.Softplus(),
                           nn.Linear(5, 3), nn.Softmax(dim=1)), (3, 1, 8, 8)),
    (lambda: nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.LayerNorm(2),
                           nn.Hardtanh(-0.5, 0.5), nn.Dropout(0.3)), (2, 2, 5, 5)),
    (lambda: nn.Sequential(nn.Linear(6, 4), nn.ReLU6(), nn.Linear(4, 2)), (2, 3, 6)),
    (_Functional, (2, 3, 8, 8)),
]


@pytest.mark.parametrize("make, shape", LAYERS, ids=[str(i) for i in range(len(LAYERS))])
def test_layers_match_onnxruntime(tmp_path, make, shape):
    torch.manual_seed(1)
    net = make()
    for m in net.modules():  # non-trivial eval statistics
        if isinstance(m, nn.modules.normalization._BatchNorm):
            m.running_mean.data[...] = np.linspace(-0.5, 0.5, m.num_features)
            m.running_var.data[...] = np.linspace(0.5, 2.0, m.num_features)
    _check(tmp_path, net, shape)


@pytest.mark.parametrize("kind", ["unet2d", "unet3d_group", "classifier", "autoencoder"])
def test_bioimg_models_match_onnxruntime_with_dynamic_batch(tmp_path, kind):
    from bioimg.models import CNNClassifier, ConvAutoencoder, UNet
    net, shape = {
        "unet2d": (lambda: UNet(1, 3, depth=2, base_width=4), (1, 1, 32, 32)),
        "unet3d_group": (lambda: UNet(1, 2, ndim=3, depth=1, base_width=4, norm="group"),
                         (1, 1, 8, 16, 16)),
        "classifier": (lambda: CNNClassifier(1, 3, widths=(4, 8)), (2, 1, 16, 16)),
        "autoencoder": (lambda: ConvAutoencoder(1, base_width=4), (1, 1, 16, 16)),
    }[kind]
    path = _check(tmp_path, net(), shape, tol=1e-4,
                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    x3 = np.random.default_rng(3).standard_normal((3,) + shape[1:]).astype(np.float32)
    with torch.no_grad():
        ref = aonnx.load(path)(torch.from_numpy(x3)).numpy()
    np.testing.assert_allclose(_run_ort(path, x3), ref, atol=1e-4)


def test_export_restores_training_mode_and_writes_file_like(tmp_path):
    import io
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5)).train()
    buf = io.BytesIO()
    model = aonnx.export(net, torch.zeros(1, 1, 5, 5), buf, input_names=["raw"], output_names=["y"])
    assert net.training and buf.getvalue()
    assert [i.name for i in model.graph.input] == ["raw"] and model.graph.output[0].name == "y"
    assert model.opset_import[0].version == 17
    assert {i.name for i in model.graph.initializer} >= {"0.weight", "1.running_mean"}


class _Cumsum(nn.Module):
    def forward(self, x):
        return x.cumsum(1) + 1.0


class _Celu(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.CELU()

    def forward(self, x):
        return self.act(x)


@pytest.mark.parametrize("net, needle", [(_Cumsum(), "Cumsum"), (_Celu(), "celu"),
                                         (nn.Conv2d(1, 1, 3, padding_mode="circular", padding=1),
                                          "circular")])
def test_unsupported_op_is_named(tmp_path, net, needle):
    with pytest.raises(aonnx.UnsupportedOperatorError, match=needle):
        aonnx.export(net, torch.zeros(1, 1, 4, 4), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_circular_padding_with_opset_19(tmp_path):
    net = nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular")
    _check(tmp_path, net, (1, 1, 5, 6), opset_version=19)
