"""Recurrent cells and the multi-layer (bidirectional) RNN/LSTM/GRU loop.

Gate layouts follow PyTorch: LSTM rows of ``weight_ih``/``weight_hh`` are
(input i, forget f, cell g, output o); GRU rows are (reset r, update z,
new n) with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). The input
projections of a whole sequence are one matrix product per layer and
direction; only the recurrent product runs per time step.
"""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...ops import _linalg as L
from ...ops import _shape as S
from ...ops import _unary as U
from ._dropout import dropout

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]


def _proj(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """x @ w.T + b for x of shape (..., in)."""
    lead = x.shape[:-1]
    out = L.matmul(x.reshape(-1, x.shape[-1]) if x.dim() != 2 else x, w.T)
    if b is not None:
        out = out + b
    return out.reshape(tuple(lead) + (w.shape[0],)) if x.dim() != 2 else out


def _rnn_step(act):
    def step(gi, h, state, whh_t, b_hh, w_hr):
        gh = L.matmul(h, whh_t)
        if b_hh is not None:
            gh = gh + b_hh
        h_new = act(gi + gh)
        return h_new, None
    return step


def _lstm_step(gi, h, c, whh_t, b_hh, w_hr):
    gates = gi + L.matmul(h, whh_t)
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = S.chunk(gates, 4, 1)
    c_new = U.sigmoid(f) * c + U.sigmoid(i) * U.tanh(g)
    h_new = U.sigmoid(o) * U.tanh(c_new)
    if w_hr is not None:
        h_new = L.matmul(h_new, w_hr.T)
    return h_new, c_new


def _gru_step(gi, h, state, whh_t, b_hh, w_hr):
    gh = L.matmul(h, whh_t)
    if b_hh is not None:
        gh = gh + b_hh
    i_r, i_z, i_n = S.chunk(gi, 3, 1)
    h_r, h_z, h_n = S.chunk(gh, 3, 1)
    r = U.sigmoid(i_r + h_r)
    z = U.sigmoid(i_z + h_z)
    n = U.tanh(i_n + r * h_n)
    return n + z * (h - n), None


_STEPS = {"RNN_TANH": _rnn_step(U.tanh), "RNN_RELU": _rnn_step(U.relu), "LSTM": _lstm_step,
          "GRU": _gru_step}


def _unbatched(x: Tensor, batched_dim: int) -> bool:
    return x.dim() == batched_dim - 1


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,  # noqa: A002
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    return _cell("RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,  # noqa: A002
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh)."""
    return _cell("RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,  # noqa: A002
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step (gates r, z, n)."""
    return _cell("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor,  # noqa: A002
              b_ih: Tensor | None = None, b_hh: Tensor | None = None):
    """One LSTM step (gates i, f, g, o); ``hx`` = (h, c); returns (h', c')."""
    h, c = hx
    gi = _proj(input, w_ih, b_ih)
    return _lstm_step(gi, h, c, w_hh.T, b_hh, None)


def _cell(mode, x, h, w_ih, w_hh, b_ih, b_hh):
    gi = _proj(x, w_ih, b_ih)
    return _STEPS[mode](gi, h, None, w_hh.T, b_hh, None)[0]


def rnn_forward(mode: str, input: Tensor, hx, weights, num_layers: int, hidden_size: int,  # noqa: A002
                bias: bool, batch_first: bool, dropout_p: float, training: bool,
                bidirectional: bool, proj_size: int = 0):
    """Run a stacked RNN; ``weights`` lists, per layer and direction, (w_ih, w_hh[, b_ih, b_hh][, w_hr]).

    ``input``: (T, N, H_in) ((N, T, H_in) if ``batch_first``) or unbatched (T, H_in).
    ``hx``: (L*D, N, H_out) initial hidden state (LSTM: a pair (h0, c0)) or None.
    Returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``) with PyTorch's shapes.
    """
    is_lstm = mode == "LSTM"
    unbatched = input.dim() == 2
    if input.dim() not in (2, 3):
        raise ValueError(f"{mode}: Expected input to be 2D or 3D, got {input.dim()}D instead")
    x = input.unsqueeze(1) if unbatched else (S.transpose(input, 0, 1) if batch_first else input)
    t_len, batch = x.shape[0], x.shape[1]
    if t_len == 0:
        raise RuntimeError(f"{mode}: Expected sequence length to be larger than 0 in RNN")
    ndir = 2 if bidirectional else 1
    out_size = proj_size if proj_size > 0 else hidden_size
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if is_lstm else (hx, None)
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        exp_h = (num_layers * ndir, batch, out_size)
        if tuple(h0.shape) != exp_h:
            raise RuntimeError(f"Expected hidden size {exp_h}, got {tuple(h0.shape)}")
        if is_lstm and tuple(c0.shape) != (num_layers * ndir, batch, hidden_size):
            raise RuntimeError(f"Expected hidden size {(num_layers * ndir, batch, hidden_size)}, "
                               f"got {tuple(c0.shape)}")
    step = _STEPS[mode]
    per = 2 + (2 if bias else 0) + (1 if proj_size > 0 else 0)
    h_last, c_last = [], []
    layer_in = x
    for layer in range(num_layers):
        dir_outs = []
        for d in range(ndir):
            k = layer * ndir + d
            ws = weights[k * per:(k + 1) * per]
            w_ih, w_hh = ws[0], ws[1]
            b_ih, b_hh = (ws[2], ws[3]) if bias else (None, None)
            w_hr = ws[-1] if proj_size > 0 else None
            gi_all = _proj(layer_in, w_ih, b_ih)  # (T, N, G*H)
            whh_t = w_hh.T
            dt = x._data.dtype
            h = h0[k] if h0 is not None else Tensor._make(np.zeros((batch, out_size), dtype=dt))
            c = None
            if is_lstm:
                c = c0[k] if c0 is not None else Tensor._make(np.zeros((batch, hidden_size), dtype=dt))
            outs = [None] * t_len
            order = range(t_len - 1, -1, -1) if d == 1 else range(t_len)
            for t in order:
                h, c = step(gi_all[t], h, c, whh_t, b_hh, w_hr)
                outs[t] = h
            dir_outs.append(S.stack(outs, 0))
            h_last.append(h)
            if is_lstm:
                c_last.append(c)
        layer_in = dir_outs[0] if ndir == 1 else S.cat(dir_outs, 2)
        if dropout_p > 0 and training and layer < num_layers - 1:
            layer_in = dropout(layer_in, dropout_p, True)
    output = layer_in
    h_n = S.stack(h_last, 0)
    c_n = S.stack(c_last, 0) if is_lstm else None
    if unbatched:
        output = output.squeeze(1)
        h_n = h_n.squeeze(1)
        c_n = c_n.squeeze(1) if c_n is not None else None
    elif batch_first:
        output = S.transpose(output, 0, 1)
    return (output, (h_n, c_n)) if is_lstm else (output, h_n)
