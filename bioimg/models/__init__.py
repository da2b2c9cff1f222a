"""Models built from ``autograd.nn``: U-Net, CNN classifier, denoising autoencoder.

``build_model(name, **config)`` creates one by registry name; every model
keeps the ``config`` dict it was built from so a model file can rebuild it
without running code.
"""
from __future__ import annotations

from ._blocks import count_parameters
from .classifier import CNNClassifier
from .unet import UNet


def ConvAutoencoder(in_channels: int = 1, ndim: int = 2, depth: int = 2, base_width: int = 16,
                    norm: str = "none", skip: bool = True, **kw) -> UNet:
    """Convolutional encoder-decoder for denoising (output channels = input channels).

    With ``skip=True`` (default) it is a U-Net-shaped autoencoder, the usual
    Noise2Void backbone; ``skip=False`` gives a plain bottleneck autoencoder.
    """
    net = UNet(in_channels, in_channels, ndim=ndim, depth=depth, base_width=base_width,
               norm=norm, skip=skip, **kw)
    net.config["kind"] = "autoencoder"
    return net


MODELS = {"unet": UNet, "classifier": CNNClassifier, "autoencoder": ConvAutoencoder}


def build_model(name: str, **config):
    """Create a registered model by name (``unet``, ``classifier``, ``autoencoder``)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None
    config = {k: v for k, v in config.items() if k != "kind"}
    return cls(**config)


def summary(model) -> str:
    """One line: architecture, parameter count, receptive field."""
    cfg = getattr(model, "config", {})
    name = cfg.get("kind") or type(model).__name__
    dims = f"{cfg.get('ndim', '?')}D"
    rf = model.receptive_field() if hasattr(model, "receptive_field") else "?"
    return f"{name} ({dims}, {cfg}) - {count_parameters(model):,} parameters, receptive field {rf} px"


__all__ = ["UNet", "CNNClassifier", "ConvAutoencoder", "MODELS", "build_model", "summary",
           "count_parameters"]
