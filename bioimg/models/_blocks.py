"""Building blocks shared by the models: conv blocks for 2D/3D, norm choice."""
from __future__ import annotations

import autograd.nn as nn

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_CONVT = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}
_BN = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_DROP = {2: nn.Dropout2d, 3: nn.Dropout3d}
_BN_TYPES = (nn.BatchNorm2d, nn.BatchNorm3d)
NORMS = ("batch", "group", "none")


def check_ndim(ndim: int) -> int:
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3 (spatial dimensions), got {ndim}")
    return ndim


def norm_layer(kind: str, channels: int, ndim: int) -> nn.Module:
    """BatchNorm, GroupNorm (8 groups or fewer) or nothing."""
    if kind == "batch":
        return _BN[ndim](channels)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind in ("none", None):
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


class ConvBlock(nn.Sequential):
    """Two (conv 3x3 -> norm -> ReLU) layers, optional spatial dropout at the end."""

    def __init__(self, cin: int, cout: int, ndim: int, norm: str = "batch", dropout: float = 0.0):
        layers = []
        for c_in in (cin, cout):
            layers += [_CONV[ndim](c_in, cout, 3, padding=1, bias=norm == "none"),
                       norm_layer(norm, cout, ndim), nn.ReLU()]
        if dropout > 0:
            layers.append(_DROP[ndim](dropout))
        super().__init__(*layers)

    def forward(self, x):
        # BatchNorm then ReLU run as one fused node (same numbers, one pass and one
        # array fewer), unless someone hooked either layer.
        layers = list(self._modules.values())
        i = 0
        while i < len(layers):
            layer = layers[i]
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, _BN_TYPES) and isinstance(nxt, nn.ReLU) and not nxt.inplace \
                    and not _hooked(layer) and not _hooked(nxt):
                x = layer.forward_relu(x)
                i += 2
            else:
                x = layer(x)
                i += 1
        return x


def _hooked(m: nn.Module) -> bool:
    d = m.__dict__
    return bool(d.get("_forward_hooks") or d.get("_forward_pre_hooks"))


def conv(ndim: int, *args, **kwargs) -> nn.Module:
    return _CONV[ndim](*args, **kwargs)


def conv_transpose(ndim: int, *args, **kwargs) -> nn.Module:
    return _CONVT[ndim](*args, **kwargs)


def max_pool(ndim: int, k: int = 2) -> nn.Module:
    return _POOL[ndim](k)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
