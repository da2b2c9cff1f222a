"""Linear maps, embeddings and distances of ``nn.functional``."""
from __future__ import annotations

import numpy as np

from ..._apply import apply
from ..._node import Node
from ..._tensor import Tensor
from ...ops import _linalg as L
from ...ops import _reduce as R
from ...ops import _unary as U

__all__ = ["linear", "bilinear", "embedding", "one_hot", "normalize", "cosine_similarity",
           "pairwise_distance", "identity"]

_make = Tensor._make


def identity(input: Tensor) -> Tensor:  # noqa: A002
    return input


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """y = x W^T + b, for ``input`` of shape (*, in_features) and ``weight`` (out, in)."""
    if weight.dim() == 1:
        out = L.matmul(input, weight)
        return out + bias if bias is not None else out
    if input.dim() == 0:
        raise RuntimeError("linear: input must have at least one dimension")
    if input.shape[-1] != weight.shape[-1]:
        lead = input.shape[:-1]
        rows = int(np.prod(lead)) if lead else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    x = input
    lead = input.shape[:-1]
    if input.dim() > 2:
        x = input.reshape(-1, input.shape[-1])
    out = L.matmul(x, weight.T)
    if bias is not None:
        out = out + bias
    if input.dim() > 2:
        out = out.reshape(tuple(lead) + (weight.shape[0],))
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k for inputs (*, in1), (*, in2) and weight (out, in1, in2)."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.dim() != 3 or weight.shape[1] != input1.shape[-1] or weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(f"bilinear(): weight of shape {list(weight.shape)} does not match inputs "
                           f"of sizes {input1.shape[-1]} and {input2.shape[-1]}")
    out = L.einsum("...i,kij,...j->...k", input1, weight, input2)
    return out + bias if bias is not None else out


class EmbeddingBackward0(Node):
    """Rows of ``weight`` picked by an integer index array."""

    def forward(self, w, idx, padding_idx):
        self.idx, self.num, self.padding_idx = idx, w.shape[0], padding_idx
        return np.take(w, idx, axis=0)

    def backward(self, g):
        return apply(EmbeddingDenseBackward0, (g,), self.idx, self.num, self.padding_idx)


class EmbeddingDenseBackward0(Node):
    """Sum gradient rows into the embedding table (the padding row gets none)."""

    def forward(self, g, idx, num, padding_idx):
        self.idx, self.padding_idx = idx, padding_idx
        dim = g.shape[-1]
        flat_idx = idx.reshape(-1)
        flat_g = g.reshape(-1, dim)
        out = np.zeros((num, dim), dtype=g.dtype)
        np.add.at(out, flat_idx, flat_g)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    def backward(self, gg):
        if self.padding_idx is not None:
            keep = np.ones((gg.shape[0], 1), dtype=gg.dtype)
            keep[self.padding_idx] = 0
            gg = gg * _make(keep)
        return apply(EmbeddingBackward0, (gg,), self.idx, None)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, dim) at integer ``input``."""
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {idx.dtype} instead")
    num = weight.shape[0]
    if idx.size and (idx.min() < -num or idx.max() >= num):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        rows = np.unique(idx)
        w = weight._data
        norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows] *= scale[:, None].astype(w.dtype)
        weight._version[0] += 1
    return apply(EmbeddingBackward0, (weight,), idx.astype(np.int64, copy=False) % num, padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer tensor (*) -> int64 one-hot tensor (*, num_classes)."""
    idx = tensor._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if idx.min() >= 0
                           else "Class values must be non-negative.")
    out = (idx[..., None] == np.arange(num_classes)).astype(np.int64)
    return _make(out)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    denom = U.clamp(R.norm(input, p, dim, keepdim=True), min=eps)
    return input / denom


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim`` (broadcasting)."""
    n1 = U.clamp(R.norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = U.clamp(R.norm(x2, 2, dim, keepdim=True), min=eps)
    return R.sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    d = x1 - x2 + eps
    dim = -1 if d.dim() > 0 else None
    return R.norm(d, p, dim, keepdim)
