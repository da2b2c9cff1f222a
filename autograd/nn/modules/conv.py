"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` and their lazy forms.

Weights are initialised as PyTorch does (Kaiming-uniform with a = sqrt(5),
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias from the same bound), from
the global generator, so ``autograd.manual_seed`` makes them reproducible.

Examples
--------
>>> import autograd as torch
>>> conv = torch.nn.Conv2d(3, 8, 3, padding=1)
>>> conv
Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
>>> tuple(conv(torch.randn(2, 3, 16, 16)).shape)
(2, 8, 16, 16)
"""
from __future__ import annotations

import math

import numpy as np

from ... import _dtype
from ..._grad_mode import no_grad
from ...ops._shape import pad as _pad
from .. import init
from ..functional import _conv as Fc
from ..functional import _conv_transpose as Ft
from ..parameter import Parameter, UninitializedParameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]

_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, nd):
    if isinstance(v, (list, tuple)):
        v = tuple(int(a) for a in v)
        return v * nd if len(v) == 1 else v
    return (int(v),) * nd


class _ConvNd(Module):
    _nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride, nd)
        self.dilation = _ntuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, nd)
        if padding_mode not in _MODES:
            raise ValueError(f"padding_mode must be one of {set(_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.padding, self.groups, self.padding_mode = padding, groups, padding_mode
        self.output_padding = _ntuple(output_padding, nd)
        if isinstance(padding, str):
            rev = [0, 0] * nd
            if padding == "same":
                left, right = Fc.same_pads(self.kernel_size, self.dilation)
                for i in range(nd):
                    rev[2 * (nd - 1 - i)], rev[2 * (nd - 1 - i) + 1] = left[i], right[i]
        else:
            rev = []
            for p in reversed(padding):
                rev += [p, p]
        self._reversed_padding_repeated_twice = rev
        dt = np.dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        lazy = in_channels == 0 and isinstance(self, _LazyMixin)
        self.weight = UninitializedParameter() if lazy else Parameter(np.empty(self._weight_shape(), dt))
        if bias:
            self.bias = UninitializedParameter() if lazy else Parameter(np.empty((out_channels,), dt))
        else:
            self.register_parameter("bias", None)
        if not lazy:
            self.reset_parameters()

    def _weight_shape(self):
        g = self.groups
        if self.transposed:
            return (self.in_channels, self.out_channels // g) + self.kernel_size
        return (self.out_channels, self.in_channels // g) + self.kernel_size

    def reset_parameters(self) -> None:
        with no_grad():
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
                if fan_in != 0:
                    bound = 1 / math.sqrt(fan_in)
                    init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            x = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return Fc._convnd(self._nd, x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return Fc._convnd(self._nd, input, weight, bias, self.stride, self.padding, self.dilation,
                          self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C_in, L) input."""
    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution layer over (N, C_in, H, W) input.

    ``padding`` may be an int, a tuple, ``'valid'`` or ``'same'``; ``padding_mode``
    'zeros', 'reflect', 'replicate' or 'circular'.
    """
    _nd = 2


class Conv3d(_ConvNd):
    """3-D convolution layer over (N, C_in, D, H, W) input."""
    _nd = 3


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        nd = self._nd
        output_size = [int(v) for v in output_size]
        lead = 2 if input.dim() == nd + 2 else 1
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must have "
                             f"{nd} or {lead + nd} elements (got {len(output_size)})")
        mins = [(input.shape[i + lead] - 1) * self.stride[i] - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1) + 1 for i in range(nd)]
        maxs = [mins[i] + self.stride[i] - 1 for i in range(nd)]
        for i in range(nd):
            if not mins[i] <= output_size[i] <= maxs[i]:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range "
                                 f"from {mins} to {maxs} (for an input of {list(input.shape[lead:])})")
        return tuple(output_size[i] - mins[i] for i in range(nd))

    def forward(self, input, output_size=None):
        op = self._output_padding(input, output_size)
        return Ft._conv_transposend(self._nd, input, self.weight, self.bias, self.stride,
                                    self.padding, op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer; weight (C_in, C_out/groups, k)."""
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer (learned upsampling); weight (C_in, C_out/groups, kH, kW)."""
    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution layer."""
    _nd = 3


class _LazyMixin:
    """``in_channels`` is inferred from the first input; then the module becomes ``cls_to_become``."""
    cls_to_become = None

    def _lazy_init(self, input):
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {list(input.shape)}")
        self.in_channels = int(input.shape[1 if input.dim() == nd + 2 else 0])
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        dt = input.dtype if input.dtype.kind == "f" else _dtype.get_default_dtype()
        self.weight.materialize(self._weight_shape(), dtype=dt)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,), dtype=dt)
        self.reset_parameters()
        self.__class__ = self.cls_to_become

    def has_uninitialized_params(self) -> bool:
        return isinstance(self.weight, UninitializedParameter)

    def __call__(self, *args, **kwargs):
        if self.has_uninitialized_params():
            self._lazy_init(args[0])
        return Module.__call__(self, *args, **kwargs)


def _lazy(base, nd, name):
    def __init__(self, out_channels, kernel_size, *args, **kwargs):
        base.__init__(self, 0, out_channels, kernel_size, *args, **kwargs)
    return type(name, (_LazyMixin, base), {"__init__": __init__, "cls_to_become": base,
                                            "__doc__": f"``{base.__name__}`` with ``in_channels`` "
                                                       "inferred from the first input."})


LazyConv1d = _lazy(Conv1d, 1, "LazyConv1d")
LazyConv2d = _lazy(Conv2d, 2, "LazyConv2d")
LazyConv3d = _lazy(Conv3d, 3, "LazyConv3d")
LazyConvTranspose1d = _lazy(ConvTranspose1d, 1, "LazyConvTranspose1d")
LazyConvTranspose2d = _lazy(ConvTranspose2d, 2, "LazyConvTranspose2d")
LazyConvTranspose3d = _lazy(ConvTranspose3d, 3, "LazyConvTranspose3d")
for _c in (LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
           LazyConvTranspose3d):
    _c.__module__ = __name__
