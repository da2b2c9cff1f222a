"""RNN / LSTM / GRU against a step-by-step numpy reference of PyTorch's equations."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
import autograd.nn as nn
from _autograd_testutil import assert_close, leaf

A = autograd


def _np(t):
    return t.detach().numpy()


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _cell(mode, x, h, c, p):
    """One step: p = dict(w_ih, w_hh, b_ih, b_hh[, w_hr]) of numpy arrays."""
    gi = x @ p["w_ih"].T + p.get("b_ih", 0)
    gh = h @ p["w_hh"].T + p.get("b_hh", 0)
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        if "w_hr" in p:
            h = h @ p["w_hr"].T
        return h, c
    if mode == "GRU":
        ir, iz, in_ = np.split(gi, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = _sig(ir + hr), _sig(iz + hz)
        n = np.tanh(in_ + r * hn)
        return (1 - z) * n + z * h, None
    act = np.tanh if mode == "RNN_TANH" else (lambda v: np.maximum(v, 0))
    return act(gi + gh), None


def _reference(module, x, hx=None):
    """Multi-layer, bidirectional loop over time steps, reading the module's parameters by name."""
    mode = module.mode
    ndir = 2 if module.bidirectional else 1
    x = np.asarray(x, dtype=np.float64)
    unbatched = x.ndim == 2
    if unbatched:
        x = x[:, None]
    elif module.batch_first:
        x = x.swapaxes(0, 1)
    t_len, batch = x.shape[:2]
    out_size = module.proj_size or module.hidden_size
    h0 = c0 = None
    if hx is not None:
        h0, c0 = (hx if mode == "LSTM" else (hx, None))
        h0 = h0[:, None] if unbatched else h0
        c0 = (c0[:, None] if unbatched else c0) if c0 is not None else None
    params = {k: _np(v) for k, v in module.named_parameters()}
    layer_in, hn, cn = x, [], []
    for layer in range(module.num_layers):
        outs = []
        for d in range(ndir):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            p = {k: params[n + sfx] for k, n in (("w_ih", "weight_ih"), ("w_hh", "weight_hh"),
                                                 ("b_ih", "bias_ih"), ("b_hh", "bias_hh"),
                                                 ("w_hr", "weight_hr")) if n + sfx in params}
            k = layer * ndir + d
            h = h0[k] if h0 is not None else np.zeros((batch, out_size))
            c = c0[k] if c0 is not None else np.zeros((batch, module.hidden_size))
            seq = np.zeros((t_len, batch, out_size))
            for t in (range(t_len - 1, -1, -1) if d else range(t_len)):
                h, c = _cell(mode, layer_in[t], h, c, p)
                seq[t] = h
            outs.append(seq)
            hn.append(h)
            cn.append(c)
        layer_in = np.concatenate(outs, axis=2)
    out, hn = layer_in, np.stack(hn)
    cn = np.stack(cn) if mode == "LSTM" else None
    if unbatched:
        out, hn = out[:, 0], hn[:, 0]
        cn = cn[:, 0] if cn is not None else None
    elif module.batch_first:
        out = out.swapaxes(0, 1)
    return out, hn, cn


CONFIGS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("LSTM", {"num_layers": 2, "proj_size": 2, "bidirectional": True}),
    ("GRU", {"num_layers": 3}),
    ("GRU", {"bidirectional": True, "batch_first": True, "bias": False}),
]


@pytest.mark.parametrize("kind, kw", CONFIGS, ids=[f"{k}-{'-'.join(map(str, v.values()))}" for k, v in CONFIGS])
@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_matches_reference(kind, kw, with_h0):
    A.manual_seed(0)
    m = getattr(nn, kind)(3, 4, **kw).double()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    ndir = 2 if kw.get("bidirectional") else 1
    n = kw.get("num_layers", 1) * ndir
    hx = hx_np = None
    if with_h0:
        h0 = rng.standard_normal((n, 2, kw.get("proj_size") or 4))
        if kind == "LSTM":
            c0 = rng.standard_normal((n, 2, 4))
            hx, hx_np = (A.tensor(h0), A.tensor(c0)), (h0, c0)
        else:
            hx, hx_np = A.tensor(h0), h0
    out, state = m(A.tensor(x), hx)
    ref_out, ref_h, ref_c = _reference(m, x, hx_np)
    assert out.shape == ref_out.shape
    assert_close(out, ref_out, atol=1e-12)
    if kind == "LSTM":
        assert_close(state[0], ref_h, atol=1e-12)
        assert_close(state[1], ref_c, atol=1e-12)
    else:
        assert_close(state, ref_h, atol=1e-12)


def test_unbatched_input():
    A.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2).double()
    x = np.random.default_rng(2).standard_normal((6, 3))
    h0, c0 = np.ones((2, 4)) * 0.1, np.ones((2, 4)) * -0.2
    out, (h, c) = m(A.tensor(x), (A.tensor(h0), A.tensor(c0)))
    ref_out, ref_h, ref_c = _reference(m, x, (h0, c0))
    assert out.shape == (6, 4) and h.shape == (2, 4)
    assert_close(out, ref_out, atol=1e-12)
    assert_close(c, ref_c, atol=1e-12)


def test_parameter_names_shapes_and_init():
    A.manual_seed(0)
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    assert m.weight_ih_l0.shape == (20, 3) and m.weight_ih_l1.shape == (20, 10)
    assert m.weight_hh_l1_reverse.shape == (20, 5)
    bound = 1 / math.sqrt(5)
    allp = np.concatenate([_np(p).ravel() for p in m.parameters()])
    assert np.abs(allp).max() <= bound and np.abs(allp).max() > 0.95 * bound
    g = nn.GRU(2, 3, bias=False)
    assert [n for n, _ in g.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert g.weight_hh_l0.shape == (9, 3)
    p = nn.LSTM(3, 5, proj_size=2)
    assert p.weight_hr_l0.shape == (2, 5) and p.weight_hh_l0.shape == (20, 2)
    assert repr(m) == "LSTM(3, 5, num_layers=2, bidirectional=True)"
    assert repr(nn.RNN(2, 3, nonlinearity="relu")) == "RNN(2, 3, nonlinearity=relu)"


def test_gradients_gradcheck():
    A.manual_seed(0)
    for kind in ("LSTM", "GRU", "RNN"):
        m = getattr(nn, kind)(2, 2, num_layers=2, bidirectional=True).double()
        params = list(m.parameters())
        x = leaf(3, 1, 2)

        def f(x, *ps):
            out, _ = m(x)
            return out

        assert A.gradcheck(f, (x, *params), atol=1e-6)


def test_cells_match_reference_and_gradgrad():
    A.manual_seed(0)
    rng = np.random.default_rng(3)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    for cls, mode in ((nn.RNNCell, "RNN_TANH"), (nn.GRUCell, "GRU"), (nn.LSTMCell, "LSTM")):
        cell = cls(3, 4).double()
        p = {"w_ih": _np(cell.weight_ih), "w_hh": _np(cell.weight_hh), "b_ih": _np(cell.bias_ih),
             "b_hh": _np(cell.bias_hh)}
        ref_h, ref_c = _cell(mode, x, h, c, p)
        if mode == "LSTM":
            h1, c1 = cell(A.tensor(x), (A.tensor(h), A.tensor(c)))
            assert_close(c1, ref_c, atol=1e-12)
            hu, _ = cell(A.tensor(x[0]), (A.tensor(h[0]), A.tensor(c[0])))
            assert hu.shape == (4,)
        else:
            h1 = cell(A.tensor(x), A.tensor(h))
            assert cell(A.tensor(x[0])).shape == (4,)
        assert_close(h1, ref_h, atol=1e-12)
    relu = nn.RNNCell(3, 4, nonlinearity="relu").double()
    p = {"w_ih": _np(relu.weight_ih), "w_hh": _np(relu.weight_hh), "b_ih": _np(relu.bias_ih),
         "b_hh": _np(relu.bias_hh)}
    assert_close(relu(A.tensor(x), A.tensor(h)), _cell("RNN_RELU", x, h, None, p)[0], atol=1e-12)
    gru = nn.GRUCell(2, 2).double()
    assert A.gradgradcheck(lambda x, hh: gru(x, hh), (leaf(1, 2), leaf(1, 2, seed=1)), atol=1e-6)
    lstm = nn.LSTMCell(2, 2).double()
    assert A.gradgradcheck(lambda x, hh, cc: lstm(x, (hh, cc))[1],
                           (leaf(1, 2), leaf(1, 2, seed=1), leaf(1, 2, seed=2)), atol=1e-6)


def test_dropout_between_layers_and_errors():
    A.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = A.randn(4, 2, 3)
    m.eval()
    a, b = _np(m(x)[0]), _np(m(x)[0])
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(_np(m(x)[0]), a)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)
    with pytest.raises(RuntimeError, match="input_size"):
        m(A.randn(4, 2, 5))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        m(x, A.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="gelu")


def test_lstm_learns_to_remember_first_input():
    """Training through time (inline Adam): the sign of the first input must survive 6 steps."""
    A.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    m1 = [np.zeros_like(_np(p)) for p in params]
    m2 = [np.zeros_like(_np(p)) for p in params]

    def predict(x):
        out, _ = lstm(A.tensor(x))
        return head(out[:, -1]).reshape(-1)

    for step in range(1, 151):
        x = rng.standard_normal((32, 6, 1)).astype(np.float32)
        loss = nn.BCEWithLogitsLoss()(predict(x), A.tensor((x[:, 0, 0] > 0).astype(np.float32)))
        for p in params:
            p.grad = None
        loss.backward()
        with A.no_grad():
            for p, a, b in zip(params, m1, m2):
                g = _np(p.grad)
                a[...] = 0.9 * a + 0.1 * g
                b[...] = 0.999 * b + 0.001 * g * g
                upd = 0.01 * (a / (1 - 0.9 ** step)) / (np.sqrt(b / (1 - 0.999 ** step)) + 1e-8)
                p -= A.tensor(upd.astype(np.float32))
    x = rng.standard_normal((256, 6, 1)).astype(np.float32)
    with A.no_grad():
        acc = ((_np(predict(x)) > 0) == (x[:, 0, 0] > 0)).mean()
    assert acc > 0.85  # chance is 0.5; ~0.95 reached (errors are inputs near 0)
