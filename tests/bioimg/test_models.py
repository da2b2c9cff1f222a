import numpy as np
import pytest

import autograd as torch
from bioimg.models import CNNClassifier, ConvAutoencoder, UNet, build_model, count_parameters, summary


@pytest.mark.parametrize("ndim,shape", [(2, (2, 1, 32, 32)), (3, (1, 1, 8, 16, 16))])
@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_unet_shapes(ndim, shape, norm):
    net = UNet(1, 3, ndim=ndim, depth=2, base_width=4, norm=norm)
    out = net(torch.randn(*shape))
    assert out.shape == (shape[0], 3) + shape[2:]
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_unet_without_skips_and_dropout():
    net = UNet(2, 2, depth=1, base_width=4, skip=False, dropout=0.5)
    assert net(torch.randn(1, 2, 16, 16)).shape == (1, 2, 16, 16)


def test_classifier_any_size():
    net = CNNClassifier(1, 4, ndim=2, widths=(4, 8))
    assert net(torch.randn(3, 1, 20, 28)).shape == (3, 4)
    net3 = CNNClassifier(2, 2, ndim=3, widths=(4, 8))
    assert net3(torch.randn(1, 2, 8, 8, 8)).shape == (1, 2)


def test_autoencoder_keeps_channels():
    net = ConvAutoencoder(2, ndim=2, depth=2, base_width=4)
    assert net(torch.randn(1, 2, 16, 16)).shape == (1, 2, 16, 16)


def test_registry_and_summary():
    net = build_model("unet", in_channels=1, out_channels=2, depth=2, base_width=4)
    assert net.config["depth"] == 2
    line = summary(net)
    assert "parameters" in line and "receptive field" in line
    assert count_parameters(net) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet")
    with pytest.raises(ValueError, match="ndim"):
        UNet(ndim=4)


def test_receptive_field_matches_impulse_response():
    torch.manual_seed(0)
    net = UNet(1, 1, depth=2, base_width=2, norm="none")
    net.eval()
    x = torch.randn(1, 1, 64, 64, requires_grad=True)
    net(x)[0, 0, 32, 32].backward()
    touched = np.argwhere(np.abs(x.grad.numpy()[0, 0]) > 0)
    extent = touched[:, 1].max() - touched[:, 1].min() + 1
    assert extent <= net.receptive_field()
