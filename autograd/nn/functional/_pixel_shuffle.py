"""``pixel_shuffle`` / ``pixel_unshuffle``: channels <-> space rearrangements (sub-pixel convolution)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops import _shape as S

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with "
                           f"{x.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """``(*, C*r^2, H, W) -> (*, C, H*r, W*r)``, PyTorch's element order.

    Examples
    --------
    >>> import autograd as torch
    >>> x = torch.arange(8.).reshape(1, 4, 1, 2)
    >>> torch.nn.functional.pixel_shuffle(x, 2)[0, 0].tolist()
    [[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]]
    """
    _check(input, "pixel_shuffle")
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {upscale_factor}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                           f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    oc, n = c // (r * r), len(lead)
    x = S.reshape(input, (*lead, oc, r, r, h, w))
    x = S.permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return S.reshape(x, (*lead, oc, h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """``(*, C, H*r, W*r) -> (*, C*r^2, H, W)``, the inverse of ``pixel_shuffle``."""
    _check(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {downscale_factor}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height ({h}) and width ({w}) to be divisible by "
                           f"downscale_factor ({r})")
    n = len(lead)
    x = S.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = S.permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return S.reshape(x, (*lead, c * r * r, h // r, w // r))
