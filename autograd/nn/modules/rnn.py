"""Recurrent layers: RNN, LSTM, GRU and their cells (PyTorch parameter names and init)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._dtype import get_default_dtype
from ..._tensor import Tensor
from .. import init
from ..functional import _rnn
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _param(*shape, dtype=None) -> Parameter:
    return Parameter(np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype()))


class RNNBase(Module):
    """Stacked (optionally bidirectional) recurrent layers.

    Parameters per layer k and direction (suffix ``_reverse`` for the backward
    one): ``weight_ih_l{k}`` (G*H, in), ``weight_hh_l{k}`` (G*H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,) with G = 4 (LSTM: i, f, g, o),
    3 (GRU: r, z, n) or 1; all initialised U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        ndir = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(ndir):
                in_size = input_size if layer == 0 else real_hidden * ndir
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                params = [("weight_ih" + sfx, _param(gate, in_size, dtype=dtype)),
                          ("weight_hh" + sfx, _param(gate, real_hidden, dtype=dtype))]
                if bias:
                    params += [("bias_ih" + sfx, _param(gate, dtype=dtype)),
                               ("bias_hh" + sfx, _param(gate, dtype=dtype))]
                if proj_size > 0:
                    params.append(("weight_hr" + sfx, _param(proj_size, hidden_size, dtype=dtype)))
                for name, p in params:
                    self.register_parameter(name, p)
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [self._parameters[n] for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def flatten_parameters(self) -> None:
        """No-op (kept for PyTorch compatibility)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check_input(self, input):  # noqa: A002
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D input instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def forward(self, input, hx=None):  # noqa: A002
        self._check_input(input)
        return _rnn.rnn_forward(self.mode, input, hx, self._flat_weights, self.num_layers,
                                self.hidden_size, self.bias, self.batch_first, self.dropout,
                                self.training, self.bidirectional, self.proj_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _split_args(args, kwargs, names):
    """PyTorch's positional/keyword constructor arguments after (input_size, hidden_size)."""
    opts = dict(zip(names, args))
    opts.update(kwargs)
    return opts


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; returns (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, *args, **kwargs):
        opts = _split_args(args, kwargs, ["num_layers", "nonlinearity", "bias", "batch_first",
                                          "dropout", "bidirectional"])
        nonlinearity = opts.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, **opts)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o); ``forward(input, (h0, c0))`` returns
    ``(output, (h_n, c_n))``. ``proj_size > 0`` adds ``weight_hr_l{k}`` (LSTMP)."""

    def __init__(self, input_size: int, hidden_size: int, *args, **kwargs):
        opts = _split_args(args, kwargs, ["num_layers", "bias", "batch_first", "dropout",
                                          "bidirectional", "proj_size"])
        super().__init__("LSTM", input_size, hidden_size, **opts)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h); returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, *args, **kwargs):
        opts = _split_args(args, kwargs, ["num_layers", "bias", "batch_first", "dropout",
                                          "bidirectional"])
        super().__init__("GRU", input_size, hidden_size, **opts)


class RNNCellBase(Module):
    """One recurrent step with ``weight_ih`` (G*H, in), ``weight_hh`` (G*H, H) and biases."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _param(num_chunks * hidden_size, input_size, dtype=dtype)
        self.weight_hh = _param(num_chunks * hidden_size, hidden_size, dtype=dtype)
        if bias:
            self.bias_ih = _param(num_chunks * hidden_size, dtype=dtype)
            self.bias_hh = _param(num_chunks * hidden_size, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = self.__dict__.get("nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def _prepare(self, input, hx):  # noqa: A002
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        zeros = Tensor._make(np.zeros((x.shape[0], self.hidden_size), dtype=x._data.dtype))
        return x, unbatched, zeros

    @staticmethod
    def _batch(h, unbatched):
        return h.unsqueeze(0) if unbatched else h


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, unbatched, zeros = self._prepare(input, hx)
        h = zeros if hx is None else self._batch(hx, unbatched)
        fn = _rnn.rnn_tanh_cell if self.nonlinearity == "tanh" else _rnn.rnn_relu_cell
        out = fn(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c))`` returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, unbatched, zeros = self._prepare(input, hx)
        if hx is None:
            h, c = zeros, zeros
        else:
            h, c = self._batch(hx[0], unbatched), self._batch(hx[1], unbatched)
        h, c = _rnn.lstm_cell(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, unbatched, zeros = self._prepare(input, hx)
        h = zeros if hx is None else self._batch(hx, unbatched)
        out = _rnn.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out
