"""Transposed convolutions ``conv_transpose1d/2d/3d`` (the adjoint of ``conv`` in its input).

Examples
--------
>>> import autograd as torch
>>> import autograd.nn.functional as F
>>> tuple(F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3), stride=2,
...                          padding=1, output_padding=1).shape)
(1, 2, 10, 10)
"""
from __future__ import annotations

from ...ops._shape import squeeze
from . import _im2col as K
from ._conv import check_operands, conv_input, ntuple

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def transpose_geom(in_shape, K_, stride, padding, output_padding, dilation, groups):
    """Geometry of the convolution whose input-adjoint this transposed conv is."""
    nd = len(K_)
    S = tuple((in_shape[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (K_[i] - 1)
              + output_padding[i] + 1 for i in range(nd))
    if any(s <= 0 for s in S):
        raise RuntimeError(f"Given input size per channel: {list(in_shape)}. Calculated output size "
                           f"per channel: {list(S)}. Output size is too small")
    pr = tuple(padding[i] - output_padding[i] for i in range(nd))
    geom = K.Geom(S, K_, stride, padding, pr, dilation, groups)
    assert geom.O == tuple(in_shape), (geom.O, in_shape)
    return geom


def _conv_transposend(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    name = f"conv_transpose{nd}d"
    x, unbatched = check_operands(name, input, weight, bias, nd)
    stride = ntuple(stride, nd, "stride")
    padding = ntuple(padding, nd, "padding")
    output_padding = ntuple(output_padding, nd, "output_padding")
    dilation = ntuple(dilation, nd, "dilation")
    groups = int(groups)
    Cin = x._data.shape[1]
    if groups < 1 or any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise RuntimeError(f"{name}: groups, stride and dilation must be positive")
    if any(p < 0 for p in padding) or any(p < 0 for p in output_padding):
        raise RuntimeError("negative padding is not supported")
    if Cin != weight._data.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
            f"to have {weight._data.shape[0]} channels, but got {Cin} channels instead")
    if Cin % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    for i in range(nd):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding={list(output_padding)}, stride={list(stride)}, "
                               f"dilation={list(dilation)}")
    Cout = weight._data.shape[1] * groups
    if bias is not None and tuple(bias._data.shape) != (Cout,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {Cout} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    geom = transpose_geom(tuple(x._data.shape[2:]), tuple(weight._data.shape[2:]), stride, padding,
                          output_padding, dilation, groups)
    out = conv_input(x, weight, geom, bias)
    return squeeze(out, 0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution; weight (C_in, C_out/groups, k)."""
    return _conv_transposend(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution; weight (C_in, C_out/groups, kH, kW).

    Output size per dim: (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
    """
    return _conv_transposend(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution; weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transposend(3, input, weight, bias, stride, padding, output_padding, groups, dilation)
