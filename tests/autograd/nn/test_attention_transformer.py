"""Attention, transformers, pixel shuffle and lazy norms: gradcheck, PyTorch values, checkpoints."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as torch
from autograd import nn
from autograd.nn import functional as F


def _leaf(*shape, seed=0):
    return torch.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=torch.float64,
                        requires_grad=True)


# -- scaled_dot_product_attention ------------------------------------------------
MASK = torch.tensor([[True, False, True, True], [True, True, False, True], [False, True, True, True]])


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}, {"attn_mask": MASK},
                                {"attn_mask": "float"}])
def test_sdpa_gradcheck(kw):
    q, k, v = _leaf(2, 3, 5, seed=0), _leaf(2, 4, 5, seed=1), _leaf(2, 4, 2, seed=2)
    if isinstance(kw.get("attn_mask"), str):
        kw = {"attn_mask": _leaf(3, 4, seed=3)}  # a learnable bias gets gradients too
        assert torch.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                               (q, k, v, kw["attn_mask"]))
        return
    assert torch.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw), (q, k, v))
    assert torch.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw), (q, k, v))


def test_sdpa_values_and_fully_masked_rows():
    q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    v = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64)
    out = F.scaled_dot_product_attention(q, q, v, scale=1.0)
    e = np.exp(1.0)
    np.testing.assert_allclose(out[0, 0].tolist(), [(e + 3) / (e + 1), (2 * e + 4) / (e + 1)])
    mask = torch.tensor([[True, False], [False, False]])  # the second query may attend to nothing
    q.requires_grad_()
    out = F.scaled_dot_product_attention(q, q, v, attn_mask=mask)
    assert out[0, 0].tolist() == [1.0, 2.0] and out[0, 1].tolist() == [0.0, 0.0]  # zeros, as PyTorch 2.5+
    out.sum().backward()
    assert np.isfinite(q.grad.numpy()).all()
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, v, attn_mask=mask, is_causal=True)


def test_sdpa_gqa_and_against_pytorch():
    pt = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 4, 3, 8)), rng.standard_normal((2, 2, 5, 8)), rng.standard_normal((2, 2, 5, 6))
    mask = rng.random((3, 5)) > 0.3
    for kw in ({}, {"is_causal": True}, {"scale": 0.2}):
        got = F.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), enable_gqa=True, **kw)
        ref = pt.nn.functional.scaled_dot_product_attention(*(pt.tensor(a) for a in (q, k, v)), enable_gqa=True, **kw)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-12)
    got = F.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, k)), attn_mask=torch.tensor(mask),
                                         enable_gqa=True)
    ref = pt.nn.functional.scaled_dot_product_attention(*(pt.tensor(a) for a in (q, k, k)), attn_mask=pt.tensor(mask),
                                                        enable_gqa=True)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-12)


# -- pixel shuffle ------------------------------------------------------------------
def test_pixel_shuffle_values_gradcheck_and_inverse():
    x = torch.arange(8.0).reshape(1, 4, 1, 2)
    assert F.pixel_shuffle(x, 2)[0, 0].tolist() == [[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]]
    assert nn.PixelUnshuffle(2)(nn.PixelShuffle(2)(x)).tolist() == x.tolist()
    a = _leaf(2, 8, 3, 2)
    assert torch.gradcheck(lambda t: F.pixel_shuffle(t, 2), (a,))
    assert torch.gradcheck(lambda t: F.pixel_unshuffle(t, 3), (_leaf(3, 6, 9, seed=1),))  # unbatched
    with pytest.raises(RuntimeError, match="divisible by the square"):
        F.pixel_shuffle(torch.zeros(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError, match="divisible by downscale_factor"):
        F.pixel_unshuffle(torch.zeros(1, 1, 3, 4), 2)


def test_pixel_shuffle_against_pytorch():
    pt = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 18, 4, 6))
    np.testing.assert_array_equal(F.pixel_shuffle(torch.tensor(x), 3).numpy(),
                                  pt.nn.functional.pixel_shuffle(pt.tensor(x), 3).numpy())
    np.testing.assert_array_equal(F.pixel_unshuffle(torch.tensor(x), 2).numpy(),
                                  pt.nn.functional.pixel_unshuffle(pt.tensor(x), 2).numpy())


# -- MultiheadAttention / Transformer ----------------------------------------------
def _fill(m):
    """Deterministic weights (the same formula was used in PyTorch for the hard-coded values)."""
    sd = m.state_dict()
    for i, (k, v) in enumerate(sd.items()):
        sd[k] = torch.tensor((np.sin(np.arange(v.numel()) * 0.7 + i) * 0.5).reshape(tuple(v.shape)))
    m.load_state_dict(sd)
    return m


X = torch.tensor(np.cos(np.arange(12) * 0.3).reshape(1, 3, 4))


def test_mha_hard_coded_pytorch_values():
    m = _fill(nn.MultiheadAttention(4, 2, batch_first=True).double())
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    out, w = m(X, X, X, key_padding_mask=torch.tensor([[False, False, True]]))
    np.testing.assert_allclose(out.detach().numpy(), [[
        [-0.0527356135, -0.3236259362, -0.2418736941, -0.8450226125],
        [-0.1403789394, -0.2384383095, -0.3147617382, -0.7928567521],
        [-0.1635259628, -0.2289750619, -0.3094476815, -0.8123340456]]], atol=1e-9)
    np.testing.assert_allclose(w.detach().numpy(), [[[0.4328101824, 0.5671898176, 0.0],
                                                      [0.6053950031, 0.3946049969, 0.0],
                                                      [0.6316634008, 0.3683365992, 0.0]]], atol=1e-9)


def test_encoder_layer_hard_coded_pytorch_values():
    layer = _fill(nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True).double())
    np.testing.assert_allclose(layer(X).detach().numpy(), [[
        [-0.9052540307, -0.2777259663, 0.5221147456, 0.2448822297],
        [-0.8896784482, -0.3730168131, 0.5585678755, 0.2589688171],
        [-0.887481542, -0.3602270517, 0.5620854798, 0.2494209667]]], atol=1e-9)


def test_mha_gradcheck_and_errors():
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True).double()
    q, kv = _leaf(3, 2, 4), _leaf(5, 2, 4, seed=1)
    kpm = torch.tensor([[False, False, True, False, False], [False] * 5])
    assert torch.gradcheck(lambda a, b: m(a, b, b, key_padding_mask=kpm)[0], (q, kv))
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(RuntimeError, match="attn_mask"):
        m(q, kv, kv, attn_mask=torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(RuntimeError, match="is_causal"):
        m(q, q, q, is_causal=True)


def _port(src, dst):
    """PyTorch weights into our module: same keys, same shapes."""
    sd = {k: torch.tensor(v.detach().numpy()) for k, v in src.state_dict().items()}
    assert list(sd) == list(dst.state_dict())
    assert all(tuple(sd[k].shape) == tuple(dst.state_dict()[k].shape) for k in sd)
    dst.load_state_dict(sd)


@pytest.mark.parametrize("kw", [dict(batch_first=True), dict(), dict(kdim=5, vdim=3),
                                dict(add_bias_kv=True, add_zero_attn=True), dict(bias=False)])
@pytest.mark.parametrize("call", ["plain", "kpm", "mask", "both_no_weights", "per_head"])
def test_mha_matches_pytorch(kw, call):
    pt = pytest.importorskip("torch")
    pt.manual_seed(0)
    ref, got = pt.nn.MultiheadAttention(8, 2, **kw).double(), nn.MultiheadAttention(8, 2, **kw).double()
    _port(ref, got)
    rng = np.random.default_rng(1)
    shape = (lambda n, s, e: (n, s, e)) if kw.get("batch_first") else (lambda n, s, e: (s, n, e))
    q, k, v = (rng.standard_normal(shape(3, 4, 8)), rng.standard_normal(shape(3, 6, kw.get("kdim", 8))),
               rng.standard_normal(shape(3, 6, kw.get("vdim", 8))))
    kpm = rng.random((3, 6)) < 0.3
    am = rng.random((4, 6)) < 0.3
    kpm[:, 0] = am[:, 1] = False
    extra = {"plain": {}, "kpm": {"key_padding_mask": kpm}, "mask": {"attn_mask": np.where(am, -1.5, 0.3)},
             "both_no_weights": {"key_padding_mask": kpm, "attn_mask": am, "need_weights": False},
             "per_head": {"average_attn_weights": False, "attn_mask": am}}[call]

    def run(lib, mod):
        args = {n: lib.tensor(a) if isinstance(a, np.ndarray) else a for n, a in extra.items()}
        return mod(lib.tensor(q), lib.tensor(k), lib.tensor(v), **args)

    (ro, rw), (go, gw) = run(pt, ref), run(torch, got)
    np.testing.assert_allclose(go.detach().numpy(), ro.detach().numpy(), atol=1e-12)
    assert (rw is None) == (gw is None)
    if rw is not None:
        np.testing.assert_allclose(gw.detach().numpy(), rw.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, norm_first=True, activation="gelu")])
def test_transformer_matches_pytorch_outputs_and_grads(kw):
    pt = pytest.importorskip("torch")
    pt.manual_seed(0)
    args = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0)
    ref, got = pt.nn.Transformer(**args, **kw).double(), nn.Transformer(**args, **kw).double()
    _port(ref, got)
    rng = np.random.default_rng(0)
    bf = kw.get("batch_first", False)
    src, tgt = rng.standard_normal((2, 5, 8) if bf else (5, 2, 8)), rng.standard_normal((2, 3, 8) if bf else (3, 2, 8))
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True

    def run(lib, mod):
        mask = lib.nn.Transformer.generate_square_subsequent_mask(3).double()
        out = mod(lib.tensor(src), lib.tensor(tgt), tgt_mask=mask, src_key_padding_mask=lib.tensor(pad),
                  memory_key_padding_mask=lib.tensor(pad))
        (out ** 2).sum().backward()
        return out

    np.testing.assert_allclose(run(torch, got).detach().numpy(), run(pt, ref).detach().numpy(), atol=1e-12)
    for (name, p), q in zip(ref.named_parameters(), got.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-11, err_msg=name)


def test_transformer_encoder_stack_trains():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight  # deep copies
    head = nn.Linear(8, 1)
    opt = torch.optim.Adam(list(enc.parameters()) + list(head.parameters()), lr=1e-2)
    x = torch.randn(4, 6, 8)
    y = x.sum(-1, keepdim=True)
    mask = nn.Transformer.generate_square_subsequent_mask(6)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((head(enc(x, mask=mask)) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# -- lazy norms ---------------------------------------------------------------------
@pytest.mark.parametrize("cls, shape", [(nn.LazyBatchNorm1d, (4, 3)), (nn.LazyBatchNorm1d, (4, 3, 5)),
                                        (nn.LazyBatchNorm2d, (2, 3, 4, 4)), (nn.LazyBatchNorm3d, (2, 3, 2, 2, 2))])
def test_lazy_batchnorm_infers_channels(cls, shape):
    m = cls()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)  # built before the first call, as scripts do
    y = m(torch.randn(*shape) * 3 + 1)
    assert type(m).__name__ == cls.__name__[4:] and m.num_features == 3
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert m.running_mean.shape == (3,) and int(m.num_batches_tracked) == 1
    (y * torch.arange(float(y.numel())).reshape(*y.shape)).sum().backward()
    opt.step()
    assert m.weight.shape == (3,) and not np.allclose(m.weight.detach().numpy(), 1.0)
