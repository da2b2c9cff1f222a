"""More losses of ``nn.functional`` (re-exported by ``_loss``): the soft Dice loss for
segmentation, Gaussian and Poisson NLL, cosine embedding, margin ranking, soft margin,
hinge, triplet and multilabel soft margin."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from ...ops import _reduce as R
from ...ops import _unary as U
from ._activation import softplus
from ._linear import pairwise_distance

__all__ = ["dice_loss", "gaussian_nll_loss", "cosine_embedding_loss", "poisson_nll_loss", "margin_ranking_loss",
           "soft_margin_loss", "hinge_embedding_loss", "triplet_margin_loss",
           "multilabel_soft_margin_loss"]

_make = Tensor._make


def _reduce(loss, reduction):
    from ._loss import _reduce as red
    return red(loss, reduction)


def _legacy(size_average, reduce, reduction):
    from ._loss import _legacy as leg
    return leg(size_average, reduce, reduction)


def dice_loss(input, target, smooth: float = 1.0, ignore_index: int | None = None,  # noqa: A002
              activation: str | None = "auto", per_image: bool = False,
              include_background: bool = True, reduction: str = "mean") -> Tensor:
    """Soft Dice loss of logits ``input`` (N, C, *spatial) against ``target``.

    Probabilities p = softmax(input, dim=1) when C > 1, sigmoid(input) when
    C == 1 (``activation='auto'``; ``'softmax'``/``'sigmoid'`` force one,
    ``None`` takes ``input`` as probabilities). ``target`` holds class indices
    (N, *spatial) (or (N, 1, *spatial) for C == 1, values 0/1), one-hot encoded
    to t; or is a float tensor of the input's shape used as t directly. Pixels
    whose target equals ``ignore_index`` are left out of every sum. Per class c,
    with sums over the batch and spatial dims (over spatial dims only, per
    sample, if ``per_image``)::

        dice_c = (2 * sum(p_c * t_c) + smooth) / (sum(p_c) + sum(t_c) + smooth)
        loss   = mean_c (1 - dice_c)

    ``reduction='none'`` returns 1 - dice_c of shape (C,) (or (N, C) per image);
    ``'sum'`` sums them. ``include_background=False`` drops class 0 (C > 1).

    Examples
    --------
    >>> import autograd as torch
    >>> logits = torch.zeros(1, 3, 4, 4)
    >>> labels = torch.zeros(1, 4, 4, dtype=torch.int64)
    >>> round(dice_loss(logits, labels).item(), 4)
    0.7206
    """
    if input.dim() < 2:
        raise ValueError(f"dice_loss expects input of shape (N, C, *spatial), got {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if activation == "auto":
        activation = "softmax" if c > 1 else "sigmoid"
    if activation == "softmax":
        p = R.softmax(input, 1)
    elif activation == "sigmoid":
        p = U.sigmoid(input)
    elif activation is None or activation == "none":
        p = input
    else:
        raise ValueError(f"activation must be 'auto', 'softmax', 'sigmoid' or None, got {activation!r}")
    dt = input._data.dtype
    if target._data.dtype.kind == "f":
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"float target must have the input's shape {list(input.shape)}, "
                             f"got {list(target.shape)}")
        t, mask = target, None
    else:
        lab = target._data
        if lab.ndim == input.dim() and lab.shape[1] == 1:
            lab = lab[:, 0]
        if tuple(lab.shape) != (n,) + tuple(input.shape[2:]):
            raise ValueError(f"class-index target must have shape {[n] + list(input.shape[2:])}, "
                             f"got {list(target.shape)}")
        valid = np.ones(lab.shape, bool) if ignore_index is None else lab != ignore_index
        lab = np.where(valid, lab, 0)
        if c == 1:
            onehot = lab[:, None].astype(dt)
        else:
            classes = np.arange(c).reshape((1, c) + (1,) * (lab.ndim - 1))
            onehot = (lab[:, None] == classes).astype(dt)
        mask = None if ignore_index is None else valid[:, None].astype(dt)
        t = _make(onehot * mask if mask is not None else onehot)
    if mask is not None:
        p = p * _make(mask)
    dims = tuple(range(2, input.dim())) if per_image else (0,) + tuple(range(2, input.dim()))
    inter = R.sum(p * t, dims)
    denom = R.sum(p, dims) + R.sum(t, dims)
    loss = 1 - (inter * 2 + smooth) / (denom + smooth)
    if not include_background and c > 1:
        loss = loss[..., 1:]
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """0.5 (log max(var, eps) + (x - y)^2 / max(var, eps)) (+ 0.5 log 2 pi if ``full``)."""
    if not isinstance(var, Tensor):
        var = _make(np.full(input.shape, var, dtype=input._data.dtype))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and
                  sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    # clamp without changing the gradient (PyTorch clamps a clone under no_grad)
    var = var + _make(np.maximum(var._data, eps) - var._data)
    d = input - target
    loss = (U.log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = _legacy(size_average, reduce, reduction)
    dim = 1 if input1.dim() == 2 else 0
    prod = R.sum(input1 * input2, dim)
    m1 = R.sum(input1 * input1, dim) + 1e-12
    m2 = R.sum(input2 * input2, dim) + 1e-12
    cos = prod / U.sqrt(m1 * m2)
    y = target._data
    loss = U.where(y == 1, 1 - cos, U.where(y == -1, U.clamp(cos - margin, min=0.0), 0.0))
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,  # noqa: A002
                     reduce=None, reduction="mean"):
    """exp(x) - y x (log_input) or x - y log(x + eps); ``full`` adds Stirling's term for y > 1."""
    reduction = _legacy(size_average, reduce, reduction)
    if log_input:
        loss = U.exp(input) - target * input
    else:
        loss = input - target * U.log(input + eps)
    if full:
        big = target._data > 1
        safe = U.where(big, target, 1.0)
        stirling = safe * U.log(safe) - safe + U.log(safe * (2 * math.pi)) * 0.5
        loss = loss + U.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin)."""
    reduction = _legacy(size_average, reduce, reduction)
    return _reduce(U.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """log(1 + exp(-y x))."""
    reduction = _legacy(size_average, reduce, reduction)
    return _reduce(softplus(-target * input), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1."""
    reduction = _legacy(size_average, reduce, reduction)
    y = target._data
    margin_part = U.where(y == -1, U.clamp(margin - input, min=0.0), 0.0)
    loss = U.where(y == 1, input, 0.0) + margin_part
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with pairwise p-norm distances."""
    reduction = _legacy(size_average, reduce, reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = U.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(U.clamp(d_pos - d_neg + margin, min=0.0), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction="mean"):
    """-mean_c [y log sigmoid(x) + (1 - y) log sigmoid(-x)] (weighted per class)."""
    reduction = _legacy(size_average, reduce, reduction)
    loss = target * softplus(-input) + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    loss = R.mean(loss, input.dim() - 1)
    return _reduce(loss, reduction)
