"""U-Net (2D and 3D) for dense prediction: segmentation and denoising."""
from __future__ import annotations

import autograd as torch
import autograd.nn as nn

from ._blocks import ConvBlock, check_ndim, conv, conv_transpose, max_pool


class UNet(nn.Module):
    """U-Net of Ronneberger et al. with same-padding convolutions.

    Parameters
    ----------
    in_channels, out_channels : int
        Input channels (1 for a grey image) and output channels (classes
        for segmentation, image channels for denoising).
    ndim : {2, 3}
        Spatial dimensions.
    depth : int
        Number of 2x down-samplings; input sizes must be multiples of
        ``2**depth`` (the tiling code pads for you).
    base_width : int
        Channels of the first level, doubled at each level down.
    norm : {"batch", "group", "none"}
    dropout : float
        Spatial dropout at the bottleneck.
    skip : bool
        Skip connections (True: a U-Net; False: a plain encoder-decoder).

    Examples
    --------
    >>> import autograd as torch
    >>> net = UNet(1, 3, ndim=2, depth=2, base_width=8)
    >>> net(torch.zeros(1, 1, 32, 32)).shape
    Size([1, 3, 32, 32])
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 2, ndim: int = 2, depth: int = 3,
                 base_width: int = 16, norm: str = "batch", dropout: float = 0.0, skip: bool = True):
        super().__init__()
        check_ndim(ndim)
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.config = dict(in_channels=in_channels, out_channels=out_channels, ndim=ndim, depth=depth,
                           base_width=base_width, norm=norm, dropout=dropout, skip=skip)
        widths = [base_width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.down.append(ConvBlock(cin, w, ndim, norm))
            cin = w
        self.pool = max_pool(ndim, 2)
        self.bottom = ConvBlock(widths[-2], widths[-1], ndim, norm, dropout)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w_hi, w in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(conv_transpose(ndim, w_hi, w, 2, stride=2))
            self.merge.append(ConvBlock(2 * w if skip else w, w, ndim, norm))
        self.head = conv(ndim, widths[0], out_channels, 1)

    @property
    def size_multiple(self) -> int:
        """Spatial sizes must be multiples of this."""
        return 2 ** self.config["depth"]

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, merge, s in zip(self.up, self.merge, reversed(skips)):
            x = up(x)
            x = merge(torch.cat([s, x], dim=1) if self.config["skip"] else x)
        return self.head(x)

    def receptive_field(self) -> int:
        """Receptive field in pixels along one axis (two 3x3 convs per level)."""
        rf, jump = 1, 1
        for _ in range(self.config["depth"]):
            rf += 2 * 2 * jump  # two 3x3 convs
            rf += jump  # 2x2 max pool
            jump *= 2
        rf += 2 * 2 * jump  # bottleneck
        for _ in range(self.config["depth"]):
            jump //= 2
            rf += 2 * 2 * jump
        return rf
