"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (PyTorch's math).

Both are compositions of differentiable ops (matmul, softmax, dropout, linear),
so gradients of any order come for free. Mask conventions are PyTorch's, which
differ between the two: in ``scaled_dot_product_attention`` a boolean mask is
``True`` where attention is *allowed*; in ``multi_head_attention_forward`` (and
``nn.MultiheadAttention``) boolean masks are ``True`` where it is *blocked*.
"""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from ...ops import _linalg as L
from ...ops import _reduce as R
from ...ops import _shape as S
from ._dropout import dropout
from ._linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _const(arr: np.ndarray) -> Tensor:
    return Tensor._make(arr)


def _bool_to_bias(mask: Tensor, dtype, blocked_is_true: bool) -> Tensor:
    """A boolean mask as an additive float mask (0 where allowed, -inf where blocked)."""
    blocked = mask._data if blocked_is_true else ~mask._data
    return _const(np.where(blocked, -np.inf, 0.0).astype(dtype))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q k^T * scale + mask) v`` over the last two axes, as ``torch.nn.functional``'s.

    Parameters
    ----------
    query, key, value : Tensor
        ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``; leading axes broadcast.
    attn_mask : Tensor, optional
        Boolean (``True`` = may attend) or float (added to the scores), broadcastable to ``(..., L, S)``.
    dropout_p : float
        Dropout on the attention weights (applied whenever ``> 0``, as in PyTorch).
    is_causal : bool
        Mask out keys after each query (top-left aligned ``tril``); excludes ``attn_mask``.
    scale : float, optional
        Score scale, default ``1 / sqrt(E)``.
    enable_gqa : bool
        Grouped-query attention: key/value heads (axis -3) are repeated to match the query's.

    Returns
    -------
    Tensor
        ``(..., L, Ev)``. A query whose keys are all masked gets zeros (as PyTorch 2.5+).
    """
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value need at least 2 dimensions, "
                           f"got {query.ndim}, {key.ndim}, {value.ndim}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key embedding sizes differ "
                           f"({query.shape[-1]} vs {key.shape[-1]})")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3]:
            raise RuntimeError(f"enable_gqa: query heads ({query.shape[-3]}) must be a multiple of key/value "
                               f"heads ({key.shape[-3]})")
        rep = query.shape[-3] // key.shape[-3]
        key = _repeat_interleave(key, rep, -3)
        value = _repeat_interleave(value, rep, -3)
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    dtype = query.dtype
    scores = L.matmul(query, S.transpose(key, -2, -1)) * dtype.type(scale_factor)
    bias = None
    if is_causal:
        bias = _const(np.where(np.tri(n_q, n_k, dtype=bool), 0.0, -np.inf).astype(dtype))
    elif attn_mask is not None:
        bias = (_bool_to_bias(attn_mask, dtype, blocked_is_true=False) if attn_mask.dtype == np.bool_
                else attn_mask)
    dead = None
    if bias is not None:
        dead = np.isneginf(np.broadcast_to(bias._data, np.broadcast_shapes(bias.shape, scores.shape))).all(-1)
        if dead.any():
            # a row with every key masked: softmax would be 0/0; PyTorch returns zeros there
            bias = bias.masked_fill(_const(dead[..., None]), 0.0)
        else:
            dead = None
        scores = scores + bias
    attn = R.softmax(scores, -1)
    if dead is not None:
        attn = attn.masked_fill(_const(dead[..., None]), 0.0)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, training=True)
    return L.matmul(attn, value)


def _repeat_interleave(x: Tensor, rep: int, dim: int) -> Tensor:
    """``x.repeat_interleave(rep, dim)`` from unsqueeze/expand/reshape (differentiable)."""
    dim = dim % x.ndim
    shape = list(x.shape)
    y = S.unsqueeze(x, dim + 1)
    y = y.expand(*shape[:dim + 1], rep, *shape[dim + 1:])
    return S.reshape(y, tuple(shape[:dim]) + (shape[dim] * rep,) + tuple(shape[dim + 1:]))


def _canonical_mask(mask, name: str, dtype):
    """Boolean (True = blocked) or float masks as float additive masks (PyTorch's ``_canonical_mask``)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor (got {type(mask).__name__})")
    if mask.dtype == np.bool_:
        return _bool_to_bias(mask, dtype, blocked_is_true=True)
    if mask.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """PyTorch's ``F.multi_head_attention_forward`` on sequence-first ``(L, N, E)`` (or unbatched ``(L, E)``).

    Returns ``(output, weights)``: weights ``(N, L, S)`` averaged over heads (``(N, H, L, S)`` with
    ``average_attn_weights=False``) when ``need_weights``, else ``None``.
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not supported")
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"query, key and value must all be 2-D (unbatched) or 3-D (batched), got "
                             f"{query.ndim}-D, {key.ndim}-D, {value.ndim}-D")
    if not batched:
        query, key, value = S.unsqueeze(query, 1), S.unsqueeze(key, 1), S.unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = S.unsqueeze(key_padding_mask, 0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    dtype = query.dtype
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the mask is causal: let attention build it
    else:
        is_causal = False

    # input projections
    if not use_separate_proj_weight:
        w_q, w_k, w_v = S.chunk(in_proj_weight, 3, 0)
        b_q, b_k, b_v = S.chunk(in_proj_bias, 3, 0) if in_proj_bias is not None else (None, None, None)
    else:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
        b_q, b_k, b_v = S.chunk(in_proj_bias, 3, 0) if in_proj_bias is not None else (None, None, None)
    q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = S.unsqueeze(attn_mask, 0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        k = S.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = S.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = None if attn_mask is None else S.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else S.pad(key_padding_mask, (0, 1))

    # (L, N, E) -> (N*H, L, head_dim)
    q = S.transpose(S.reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    k = S.transpose(S.reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1)
    v = S.transpose(S.reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1)
    if add_zero_attn:
        zeros = _const(np.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype))
        k, v = S.cat([k, zeros], 1), S.cat([v, zeros], 1)
        attn_mask = None if attn_mask is None else S.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else S.pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = S.reshape(key_padding_mask, (bsz, 1, 1, src_len)).expand(bsz, num_heads, 1, src_len)
        kpm = S.reshape(kpm, (bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = L.matmul(q * dtype.type(math.sqrt(1.0 / head_dim)), S.transpose(k, -2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = R.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = L.matmul(weights, v)  # (N*H, L, head_dim)
        out = S.reshape(S.transpose(out, 0, 1), (tgt_len * bsz, embed_dim))
        out = S.reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))
        weights = S.reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            weights = R.mean(weights, 1)
        if not batched:
            out, weights = S.squeeze(out, 1), S.squeeze(weights, 0)
        return out, weights

    if attn_mask is not None:
        attn_mask = (S.unsqueeze(attn_mask, 0) if attn_mask.shape[0] == 1
                     else S.reshape(attn_mask, (bsz, num_heads, -1, src_len)))
    q = S.reshape(q, (bsz, num_heads, tgt_len, head_dim))
    k = S.reshape(k, (bsz, num_heads, src_len, head_dim))
    v = S.reshape(v, (bsz, num_heads, src_len, head_dim))
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = S.reshape(S.permute(out, (2, 0, 1, 3)), (bsz * tgt_len, embed_dim))
    out = S.reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))
    if not batched:
        out = S.squeeze(out, 1)
    return out, None
