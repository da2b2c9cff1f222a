"""Losses of ``nn.functional`` (PyTorch formulas, ``reduction`` = 'none' | 'mean' | 'sum').

``cross_entropy`` with class-index targets is one fused node
(``CrossEntropyBackward0``): softmax statistics in a few float32 passes, the
closed-form gradient ``s * (p * a - onehot * b - smoothing)`` in numpy, and
the same formula from differentiable ops under ``create_graph``.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..._apply import apply
from ..._grad_mode import is_grad_enabled
from ..._node import Node
from ..._tensor import Tensor
from ...ops import _reduce as R
from ...ops import _unary as U
from ...ops._index import gather
from ._activation import softplus

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "dice_loss",
           "gaussian_nll_loss", "cosine_embedding_loss", "poisson_nll_loss", "margin_ranking_loss",
           "soft_margin_loss", "hinge_embedding_loss", "triplet_margin_loss",
           "multilabel_soft_margin_loss"]

_make = Tensor._make


def _legacy(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair -> ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  + ("mean" if (size_average is None or size_average) and (reduce is None or reduce)
                     else "sum" if reduce is None or reduce else "none") + "' instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return R.mean(loss)
    if reduction == "sum":
        return R.sum(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input: Tensor, target: Tensor) -> None:  # noqa: A002
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _weighted(loss: Tensor, weight, reduction: str, mean_by_weight: bool) -> Tensor:
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return R.sum(loss) / R.sum(weight)
    return _reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """|x - y| (weighted mean: sum(w l) / sum(w))."""
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    return _weighted(U.abs(input - target), weight, reduction, True)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """(x - y)^2 (weighted mean: sum(w l) / sum(w))."""
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    d = input - target
    return _weighted(d * d, weight, reduction, True)


def _smooth(d: Tensor, beta: float, scale: float) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (times ``scale``)."""
    a = U.abs(d)
    if beta == 0:
        return a * scale if scale != 1 else a
    quad = d * d * (0.5 * scale / beta)
    lin = (a - 0.5 * beta) * scale if scale != 1 else a - 0.5 * beta
    return U.where(a._data < beta, quad, lin)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta otherwise."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _size_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    return _reduce(_smooth(input - target, beta, 1.0), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """0.5 d^2 for |d| < delta, delta (|d| - 0.5 delta) otherwise (= delta * smooth_l1(beta=delta))."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _size_warning(input, target)
    return _weighted(_smooth(input - target, delta, delta), weight, reduction, False)


# -- classification -----------------------------------------------------------
def _class_target(input: Tensor, target: Tensor, ignore_index: int):  # noqa: A002
    """Validate class-index targets; return (x3 data shape (N, C, M), t (N, M), valid (N, M), out shape)."""
    t = target._data
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {t.dtype} for the class-index "
                           "target (use a float target of the input's shape for class probabilities)")
    shape = tuple(input.shape)
    if len(shape) == 1:
        if t.ndim != 0:
            raise ValueError(f"Expected target to be a 0-d tensor for 1-d input, got {list(t.shape)}")
        n, c, out_shape = 1, shape[0], ()
    else:
        n, c = shape[0], shape[1]
        out_shape = (n,) + shape[2:]
        if tuple(t.shape) != out_shape:
            if len(shape) == 2 and t.ndim == 1:
                raise ValueError(f"Expected input batch_size ({n}) to match target batch_size "
                                 f"({t.shape[0]}).")
            raise RuntimeError(f"Expected target size {list(out_shape)}, got {list(t.shape)}")
    m = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    t2 = t.reshape(n, m)
    valid = t2 != ignore_index
    bad = valid & ((t2 < 0) | (t2 >= c))
    if bad.any():
        raise IndexError(f"Target {int(t2[bad][0])} is out of bounds.")
    return (n, c, m), np.where(valid, t2, 0), valid, out_shape


def _class_weights(weight, c: int, tt: np.ndarray, valid: np.ndarray, dtype):
    if weight is None:
        return None, valid.astype(dtype)
    w = weight._data.astype(dtype, copy=False).reshape(-1)
    if w.shape[0] != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")
    return w, np.where(valid, w[tt], dtype.type(0))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """-w[t] * input[t] (log-probabilities in dim 1); weighted mean = sum(w_t l) / sum(w_t)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    (n, c, m), tt, valid, out_shape = _class_target(input, target, ignore_index)
    w, w_t = _class_weights(weight, c, tt, valid, input._data.dtype)
    x3 = input.reshape(n, c, m)
    picked = gather(x3, 1, tt[:, None, :]).reshape(n, m)
    loss = picked * _make(-w_t)
    if reduction == "none":
        return loss.reshape(out_shape)
    if reduction == "sum":
        return R.sum(loss)
    return R.sum(loss) / _make(np.asarray(w_t.sum(), dtype=w_t.dtype))


class CrossEntropyBackward0(Node):
    """log_softmax + nll (+ label smoothing) over dim 1 of (N, C, M) logits, one node."""
    save_inputs = (0,)

    def forward(self, x, tt, valid, w, w_t, eps, reduction, out_shape):
        n, c, m = self.shape3 = (x.shape[0], x.shape[1], int(x.size // max(x.shape[0] * x.shape[1], 1)))
        dt = x.dtype
        x3 = np.ascontiguousarray(x).reshape(n, c, m)
        mx = x3.max(axis=1, keepdims=True)
        e = np.subtract(x3, mx)
        np.exp(e, out=e)
        se = e.sum(axis=1, keepdims=True)
        lse = (np.log(se) + mx)[:, 0, :]
        e /= se
        self.p = e  # softmax, reused by backward
        # flat positions of the target logits in the (N, C, M) layout (one per element)
        self.flat = ((np.arange(n)[:, None] * c + tt) * m + np.arange(m)).reshape(-1)
        xt = x3.reshape(-1).take(self.flat).reshape(n, m)
        loss = (lse - xt) * w_t  # (N, M); zero where ignored
        wsum = dt.type(c) if w is None else w.sum(dtype=dt)
        if eps > 0:
            wx = x3.sum(axis=1) if w is None else np.einsum("ncm,c->nm", x3, w)
            smooth = np.where(valid, lse * wsum - wx, dt.type(0))
            loss = loss * dt.type(1 - eps) + smooth * dt.type(eps / c)
        self.tt, self.valid, self.w, self.w_t, self.wsum = tt, valid, w, w_t, wsum
        self.eps, self.reduction, self.out_shape = eps, reduction, out_shape
        if reduction == "none":
            return loss.reshape(out_shape)
        total = loss.sum(dtype=dt)
        if reduction == "sum":
            return np.asarray(total)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.denom = w_t.sum(dtype=dt)
            return np.asarray(total / self.denom)

    def _scale(self, g):
        """Per-element upstream gradient s of shape (N, 1, M) (array or Tensor)."""
        n, _, m = self.shape3
        if self.reduction == "none":
            return g.reshape(n, 1, m)
        return g / self.denom if self.reduction == "mean" else g

    def _terms(self, dt):
        """a (N, 1, M) multiplies p; k (N, C, M) is subtracted (both before scaling by s)."""
        n, c, m = self.shape3
        eps = self.eps
        a = (self.w_t * dt.type(1 - eps) + self.valid * dt.type(eps / c * self.wsum))[:, None, :]
        k = np.zeros(self.shape3, dtype=dt)
        np.put_along_axis(k, self.tt[:, None, :], (self.w_t * dt.type(1 - eps))[:, None, :], axis=1)
        if eps > 0:
            wv = np.ones(c, dtype=dt) if self.w is None else self.w
            k += self.valid[:, None, :] * (wv[None, :, None] * dt.type(eps / c))
        return a, k

    def backward(self, g):
        (x,) = self.saved_tensors
        dt = x._data.dtype
        n, c, m = self.shape3
        if is_grad_enabled():  # create_graph: the closed form from differentiable ops
            a, k = self._terms(dt)
            p = R.softmax(x.reshape(n, c, m), 1)
            dx = (p * _make(a) - _make(k)) * self._scale(g)
            return dx.reshape(x.shape)
        s = self._scale(g._data).astype(dt, copy=False)
        eps = self.eps
        coef = (self.w_t * dt.type(1 - eps) + self.valid * dt.type(eps / c * self.wsum))[:, None, :]
        dx = np.multiply(self.p, coef * s)
        hit = (self.w_t * dt.type(1 - eps))[:, None, :] * s
        flat = dx.reshape(-1)
        flat[self.flat] -= np.broadcast_to(hit, (n, 1, m)).reshape(-1)
        if eps > 0:
            wv = np.ones(c, dtype=dt) if self.w is None else self.w
            dx -= (self.valid[:, None, :] * s) * (wv[None, :, None] * dt.type(eps / c))
        return _make(dx.reshape(x._data.shape))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits ``input`` (N, C, d1, ...) against class indices or class probabilities.

    Class indices (N, d1, ...): l_i = (1 - e) * w[t_i] * (-log p_{i,t_i})
    + e / C * sum_c w_c * (-log p_{i,c}) over non-ignored i (e = label_smoothing);
    'mean' divides by sum_i w[t_i] over non-ignored i (as PyTorch).
    Probabilities (same shape as input): l_i = -sum_c w_c q_ic log p_ic with
    q = (1 - e) q + e / C; 'mean' divides by N * d1 * ....
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy expects floating point logits, got {input.dtype}")
    if target._data.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, ignore_index)
    (n, c, m), tt, valid, out_shape = _class_target(input, target, ignore_index)
    dt = input._data.dtype
    w, w_t = _class_weights(weight, c, tt, valid, dt)
    x = input.reshape(1, c) if input.dim() == 1 else input
    return apply(CrossEntropyBackward0, (x,), tt, valid, w, w_t, float(label_smoothing), reduction,
                 out_shape)


def _cross_entropy_probs(input, target, weight, reduction, eps, ignore_index):  # noqa: A002
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected floating point target of the input's shape {list(input.shape)} "
                           f"(class probabilities), got {list(target.shape)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    cdim = 0 if input.dim() == 1 else 1
    c = input.shape[cdim]
    logp = R.log_softmax(input, cdim)
    if eps > 0:
        target = target * (1 - eps) + eps / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((c,) + (1,) * (input.dim() - cdim - 1))
    if reduction == "none":
        return -R.sum(prod, cdim)
    if reduction == "sum":
        return -R.sum(prod)
    return -R.sum(prod) / (input.numel() / c)


class BinaryCrossEntropyBackward0(Node):
    """-(y log p + (1 - y) log(1 - p)) with both logs clamped at -100 (as PyTorch)."""
    save_inputs = (0, 1)

    def forward(self, p, y):
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), p.dtype.type(-100))
            l1p = np.maximum(np.log(1 - p), p.dtype.type(-100))
        return -(l1p + y * (lp - l1p))

    def backward(self, g):
        p, y = self.saved_tensors
        nf = self.next_functions
        gp = g * (p - y) / U.clamp((1 - p) * p, min=1e-12) if nf[0][0] is not None else None
        gy = None
        if nf[1][0] is not None:
            gy = g * (U.clamp(U.log(1 - p), min=-100.0) - U.clamp(U.log(p), min=-100.0))
        return gp, gy


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """-w (y log p + (1 - y) log(1 - p)), logs clamped at -100."""
    reduction = _legacy(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    d = input._data
    if d.size and (d.min() < 0 or d.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if target._data.dtype != d.dtype:
        target = target.to(d.dtype)
    loss = apply(BinaryCrossEntropyBackward0, (input, target))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """(1 - y) x + (1 + (pw - 1) y) * softplus(-x), weighted: stable for any logit."""
    reduction = _legacy(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    if target._data.dtype != input._data.dtype:
        target = target.to(input._data.dtype)
    sp = softplus(-input)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """target * (log target - input) (input holds log-probabilities); 'batchmean' divides by N."""
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", stacklevel=2)
    if log_target:
        loss = U.exp(target) * (target - input)
    else:
        pos = target._data > 0
        safe = U.where(pos, target, 1.0)
        loss = U.where(pos, target * U.log(safe), 0.0) - target * input
    if reduction == "batchmean":
        total = R.sum(loss)
        return total / input.shape[0] if input.dim() != 0 else total
    return _reduce(loss, reduction)


from ._loss_extra import (cosine_embedding_loss, dice_loss, gaussian_nll_loss,  # noqa: E402,F401
                          hinge_embedding_loss, margin_ranking_loss, multilabel_soft_margin_loss,
                          poisson_nll_loss, soft_margin_loss, triplet_margin_loss)
