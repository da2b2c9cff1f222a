"""Losses against numpy references of PyTorch's formulas; gradcheck + gradgradcheck in float64."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F
from _autograd_testutil import assert_close, check, leaf, pos

A = autograd


def _np(t):
    return t.detach().numpy()


def _reduce(l, reduction):
    return {"none": l, "sum": l.sum(), "mean": l.mean()}[reduction]


# -- regression losses ------------------------------------------------------------
REG = [
    ("l1", F.l1_loss, lambda d: np.abs(d)),
    ("mse", F.mse_loss, lambda d: d * d),
    ("smooth_l1", lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d * d / 0.5, np.abs(d) - 0.25)),
    ("huber", lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d * d, 0.5 * (np.abs(d) - 0.25))),
]


@pytest.mark.parametrize("name, fn, ref", REG, ids=[r[0] for r in REG])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses(name, fn, ref, reduction):
    x, y = leaf(3, 4), leaf(3, 4, seed=1)
    d = _np(x) - _np(y)
    assert_close(fn(x, y, reduction=reduction), _reduce(ref(d), reduction), atol=1e-12)
    check(lambda a, b: fn(a, b, reduction=reduction), x, y, gradgrad=name != "l1")


def test_regression_modules_weights_and_warnings():
    x, y, w = leaf(2, 3), leaf(2, 3, seed=1), pos(2, 3, seed=2)
    d = _np(x) - _np(y)
    assert_close(nn.MSELoss()(x, y), (d * d).mean())
    assert_close(F.mse_loss(x, y, weight=w), (d * d * _np(w)).sum() / _np(w).sum())
    assert_close(F.l1_loss(x, y, weight=w), (np.abs(d) * _np(w)).sum() / _np(w).sum())
    assert_close(F.huber_loss(x, y, weight=w, delta=10), (0.5 * d * d * _np(w)).mean())
    assert_close(nn.L1Loss(reduction="sum")(x, y), np.abs(d).sum())
    assert_close(nn.SmoothL1Loss(beta=0.0)(x, y), np.abs(d).mean())
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(x, y[0])
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(x, y, reduction="avg")
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"


# -- cross entropy ------------------------------------------------------------------
def _ce_ref(x, t, w=None, ignore=-100, reduction="mean", eps=0.0):
    """PyTorch's formula: nll part and smoothing part, both normalised by sum of w[t] (mean)."""
    c = x.shape[1]
    xm = np.moveaxis(x, 1, -1).reshape(-1, c)
    tt = t.reshape(-1)
    logp = xm - np.log(np.exp(xm).sum(1, keepdims=True))
    w = np.ones(c) if w is None else w
    valid = tt != ignore
    ts = np.where(valid, tt, 0)
    wt = np.where(valid, w[ts], 0.0)
    nll = -wt * logp[np.arange(len(tt)), ts]
    smooth = np.where(valid, -(logp * w).sum(1), 0.0)
    per = (1 - eps) * nll + eps / c * smooth
    if reduction == "none":
        return per.reshape(t.shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / wt.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, smoothing, weighted):
    x = leaf(5, 4)
    t = A.tensor([0, 3, -100, 2, 3])
    w = A.tensor([0.5, 1.0, 2.0, 1.5], dtype=A.float64) if weighted else None
    out = F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=smoothing)
    ref = _ce_ref(_np(x), t.numpy(), None if w is None else w.numpy(), -100, reduction, smoothing)
    assert_close(out, ref, atol=1e-12)
    check(lambda x: F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=smoothing), x)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_spatial_ignore_weights(smoothing):
    x = leaf(2, 3, 2, 3)
    t = A.tensor([[[0, 1, 255], [2, 2, 0]], [[255, 1, 1], [0, 2, 1]]])
    w = A.tensor([1.0, 2.0, 0.5], dtype=A.float64)
    loss = nn.CrossEntropyLoss(weight=w, ignore_index=255, label_smoothing=smoothing)
    assert_close(loss(x, t), _ce_ref(_np(x), t.numpy(), w.numpy(), 255, "mean", smoothing), atol=1e-12)
    none = F.cross_entropy(x, t, w, ignore_index=255, reduction="none", label_smoothing=smoothing)
    assert none.shape == (2, 2, 3) and _np(none)[0, 0, 2] == 0
    check(lambda x: loss(x, t), x)


def test_cross_entropy_probability_targets():
    x = leaf(3, 4, 2)
    q = np.random.default_rng(0).dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1).copy()
    tq = A.tensor(q, dtype=A.float64, requires_grad=True)
    w = np.array([1.0, 0.5, 2.0, 1.0])
    logp = _np(x) - np.log(np.exp(_np(x)).sum(1, keepdims=True))
    for eps in (0.0, 0.2):
        qs = q * (1 - eps) + eps / 4
        per = -(logp * qs * w[None, :, None]).sum(1)
        out = F.cross_entropy(x, tq, weight=A.tensor(w), label_smoothing=eps)
        assert_close(out, per.sum() / 6, atol=1e-12)  # mean over N * d1 elements
        assert_close(F.cross_entropy(x, tq, reduction="none", label_smoothing=eps),
                     -(logp * qs).sum(1), atol=1e-12)
    check(lambda x, q: F.cross_entropy(x, q, label_smoothing=0.1), x, tq)


def test_cross_entropy_edge_cases_and_errors():
    x = leaf(4)
    assert_close(F.cross_entropy(x, A.tensor(2)), -_np(x)[2] + np.log(np.exp(_np(x)).sum()), atol=1e-12)
    allign = F.cross_entropy(leaf(2, 3), A.tensor([-100, -100]))
    assert np.isnan(_np(allign))  # 0 / 0, as PyTorch
    big = A.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    out = F.cross_entropy(big, A.tensor([1]))
    out.backward()
    assert out.item() == pytest.approx(2000.0) and np.isfinite(_np(big.grad)).all()
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(leaf(2, 3), A.tensor([0, 3]))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(leaf(2, 3), A.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="Expected target size"):
        F.cross_entropy(leaf(2, 3, 4), A.tensor([[0, 1], [1, 1]]))
    assert F.cross_entropy(A.randn(3, 5), A.tensor([1, 2, 3])).dtype == A.float32


def test_nll_loss():
    lp = A.log_softmax(leaf(4, 3), 1)
    t = A.tensor([2, -100, 0, 1])
    w = A.tensor([0.2, 1.0, 3.0], dtype=A.float64)
    d = _np(lp)
    wt = np.array([3.0, 0.0, 0.2, 1.0])
    per = -wt * d[np.arange(4), [2, 0, 0, 1]]
    assert_close(nn.NLLLoss(weight=w)(lp, t), per.sum() / wt.sum())
    assert_close(F.nll_loss(lp, t, w, reduction="none"), per)
    check(lambda x: F.nll_loss(x, t, w), leaf(4, 3))
    check(lambda x: F.nll_loss(x, A.tensor([[0, 2], [1, 1]])), leaf(2, 3, 2))


# -- binary losses -------------------------------------------------------------------
def test_bce():
    p, y, w = pos(3, 2, low=0.1, high=0.9), pos(3, 2, seed=1, low=0.0, high=1.0), pos(3, 2, seed=2)
    pn, yn = _np(p), _np(y)
    ref = -(yn * np.log(pn) + (1 - yn) * np.log(1 - pn))
    assert_close(F.binary_cross_entropy(p, y, reduction="none"), ref)
    assert_close(nn.BCELoss(weight=w)(p, y), (ref * _np(w)).mean())
    check(F.binary_cross_entropy, p, y)
    clamped = F.binary_cross_entropy(A.tensor([0.0, 1.0]), A.tensor([1.0, 0.0]), reduction="none")
    assert clamped.tolist() == [100.0, 100.0]  # log clamped at -100, as PyTorch
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(A.tensor([1.5]), A.tensor([1.0]))


def test_bce_with_logits():
    x, y = leaf(3, 2, low=-3, high=3), pos(3, 2, seed=1, low=0.0, high=1.0)
    pw = A.tensor([2.0, 0.5], dtype=A.float64)
    w = pos(3, 2, seed=2)
    xn, yn = _np(x), _np(y)
    sig = 1 / (1 + np.exp(-xn))
    ref = -(_np(pw) * yn * np.log(sig) + (1 - yn) * np.log(1 - sig))
    assert_close(F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none"), ref)
    assert_close(nn.BCEWithLogitsLoss(weight=w, pos_weight=pw)(x, y), (ref * _np(w)).mean())
    check(lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw), x, y)
    extreme = A.tensor([1000.0, -1000.0, 0.0], requires_grad=True)
    out = F.binary_cross_entropy_with_logits(extreme, A.tensor([0.0, 1.0, 1.0]), reduction="none")
    assert out.tolist() == pytest.approx([1000.0, 1000.0, math.log(2)])
    out.sum().backward()
    assert extreme.grad.tolist() == pytest.approx([1.0, -1.0, -0.5])


# -- distribution losses --------------------------------------------------------------
def test_kl_div():
    inp = A.log_softmax(leaf(3, 4), 1)
    tgt = A.softmax(leaf(3, 4, seed=1), 1)
    tgt.data.numpy()[0, 1] = 0.0  # zero target contributes 0
    i, t = _np(inp), _np(tgt)
    pointwise = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * i
    assert_close(F.kl_div(inp, tgt, reduction="batchmean"), pointwise.sum() / 3)
    assert_close(F.kl_div(inp, tgt, reduction="sum"), pointwise.sum())
    lt = np.log(np.where(t > 0, t, 1e-3))
    assert_close(nn.KLDivLoss(reduction="none", log_target=True)(inp, A.tensor(lt)), np.exp(lt) * (lt - i))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(inp, tgt)
    check(lambda a, b: F.kl_div(a, b, reduction="batchmean"), leaf(2, 3), pos(2, 3, seed=1))
    check(lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True), leaf(2, 3), leaf(2, 3, seed=1))


def test_gaussian_nll_and_others():
    x, y, v = leaf(4, 2), leaf(4, 2, seed=1), pos(4, 2, seed=2)
    d = _np(x) - _np(y)
    ref = 0.5 * (np.log(_np(v)) + d * d / _np(v))
    assert_close(nn.GaussianNLLLoss()(x, y, v), ref.mean())
    assert_close(F.gaussian_nll_loss(x, y, v, full=True, reduction="sum"), (ref + 0.5 * math.log(2 * math.pi)).sum())
    check(F.gaussian_nll_loss, x, y, v)
    check(lambda a, b, v: F.gaussian_nll_loss(a, b, v), x, y, pos(4, seed=3))  # homoscedastic
    a, b = leaf(3, 4), leaf(3, 4, seed=1)
    target = A.tensor([1.0, -1.0, 1.0])
    cos = (_np(a) * _np(b)).sum(1) / np.sqrt((_np(a) ** 2).sum(1) * (_np(b) ** 2).sum(1))
    ref = np.where([True, False, True], 1 - cos, np.maximum(cos - 0.1, 0))
    assert_close(nn.CosineEmbeddingLoss(margin=0.1)(a, b, target), ref.mean())
    check(lambda a, b: F.cosine_embedding_loss(a, b, target, margin=-0.9), a, b)
    check(lambda a, b: F.poisson_nll_loss(a, b), leaf(3), pos(3, seed=1))
    check(lambda a, b: F.margin_ranking_loss(a, b, A.tensor([1.0, -1.0, 1.0]), 0.05), leaf(3), leaf(3, seed=4))
    check(lambda a: F.soft_margin_loss(a, A.tensor([1.0, -1.0, 1.0])), leaf(3))
    check(lambda a: F.multilabel_soft_margin_loss(a, A.tensor([[1.0, 0.0], [0.0, 1.0]])), leaf(2, 2))
    check(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=5.0), leaf(2, 3), leaf(2, 3, seed=1),
          leaf(2, 3, seed=2))


# -- Dice ----------------------------------------------------------------------------
def _dice_ref(p, onehot, mask, smooth, dims):
    p, onehot = p * mask, onehot * mask
    inter = (p * onehot).sum(dims)
    return 1 - (2 * inter + smooth) / (p.sum(dims) + onehot.sum(dims) + smooth)


def test_dice_multiclass_with_ignore():
    x = leaf(2, 3, 4, 4)
    lab = np.random.default_rng(0).integers(0, 3, (2, 4, 4))
    lab[0, 0, :2] = 255
    t = A.tensor(lab)
    e = np.exp(_np(x))
    p = e / e.sum(1, keepdims=True)
    onehot = (lab[:, None] == np.arange(3)[None, :, None, None]).astype(float)
    mask = (lab != 255)[:, None].astype(float)
    per_class = _dice_ref(p, onehot, mask, 1.0, (0, 2, 3))
    assert_close(F.dice_loss(x, t, ignore_index=255, reduction="none"), per_class, atol=1e-12)
    assert_close(nn.DiceLoss(ignore_index=255)(x, t), per_class.mean(), atol=1e-12)
    per_image = _dice_ref(p, onehot, mask, 0.5, (2, 3))
    assert_close(F.dice_loss(x, t, smooth=0.5, ignore_index=255, per_image=True, reduction="none"),
                 per_image, atol=1e-12)
    assert_close(F.dice_loss(x, t, ignore_index=255, include_background=False),
                 per_class[1:].mean(), atol=1e-12)
    check(lambda x: F.dice_loss(x, t, ignore_index=255), leaf(2, 3, 4, 4))


def test_dice_binary_and_perfect_prediction():
    x = leaf(2, 1, 3, 3)
    lab = (np.random.default_rng(1).random((2, 3, 3)) > 0.5).astype(np.int64)
    p = 1 / (1 + np.exp(-_np(x)))
    ref = _dice_ref(p, lab[:, None].astype(float), 1.0, 1.0, (0, 2, 3)).mean()
    assert_close(F.dice_loss(x, A.tensor(lab)), ref, atol=1e-12)
    assert_close(F.dice_loss(x, A.tensor(lab[:, None])), ref, atol=1e-12)
    assert_close(F.dice_loss(x, A.tensor(lab[:, None].astype(np.float64))), ref, atol=1e-12)
    perfect = A.tensor(np.where(lab[:, None] == 1, 50.0, -50.0))
    assert F.dice_loss(perfect, A.tensor(lab), smooth=1e-6).item() < 1e-6
    check(lambda x: F.dice_loss(x, A.tensor(lab)), x)
    with pytest.raises(ValueError, match="class-index target"):
        F.dice_loss(x, A.tensor(lab[:, :2]))


def test_losses_train_a_linear_classifier():
    """CrossEntropyLoss drives a tiny softmax classifier to separate two blobs."""
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.normal(-1, 0.5, (50, 2)), rng.normal(1, 0.5, (50, 2))]).astype(np.float32)
    ys = np.repeat([0, 1], 50)
    A.manual_seed(0)
    model = nn.Linear(2, 2)
    x, y = A.tensor(xs), A.tensor(ys)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(100):
            loss = nn.CrossEntropyLoss(label_smoothing=0.05)(model(x), y)
            model.zero_grad()
            loss.backward()
            with A.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
    acc = (A.argmax(model(x), 1).numpy() == ys).mean()
    assert acc > 0.95
