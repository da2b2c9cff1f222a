"""A CNN classifier for patches or whole images (2D/3D)."""
from __future__ import annotations

import autograd.nn as nn

from ._blocks import ConvBlock, check_ndim, max_pool


class CNNClassifier(nn.Module):
    """Conv blocks with 2x max pooling, global average pooling and a linear head.

    Works on any input size (global pooling), e.g. crops around objects.

    Examples
    --------
    >>> import autograd as torch
    >>> net = CNNClassifier(1, 3, ndim=2, widths=(8, 16))
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    Size([2, 3])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, ndim: int = 2,
                 widths=(16, 32, 64), norm: str = "batch", dropout: float = 0.2):
        super().__init__()
        check_ndim(ndim)
        self.config = dict(in_channels=in_channels, num_classes=num_classes, ndim=ndim,
                           widths=list(widths), norm=norm, dropout=dropout)
        layers = []
        cin = in_channels
        for i, w in enumerate(widths):
            layers.append(ConvBlock(cin, w, ndim, norm))
            if i < len(widths) - 1:
                layers.append(max_pool(ndim, 2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if ndim == 2 else nn.AdaptiveAvgPool3d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))

    @property
    def size_multiple(self) -> int:
        return 2 ** (len(self.config["widths"]) - 1)

    def receptive_field(self) -> int:
        rf, jump = 1, 1
        for i in range(len(self.config["widths"])):
            rf += 4 * jump
            if i < len(self.config["widths"]) - 1:
                rf += jump
                jump *= 2
        return rf
