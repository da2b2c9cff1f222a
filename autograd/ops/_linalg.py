"""Matrix products: matmul (batched, vectors), dot, outer, einsum."""
from __future__ import annotations

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._arith import sum_to

_make = Tensor._make


class MmBackward0(Node):
    """Batched matmul of operands with ndim >= 2 (broadcast batch dims)."""
    save_inputs = (0, 1)

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        try:
            return np.matmul(_blas_ready(a), _blas_ready(b))
        except ValueError:
            if a.shape[-1] == b.shape[-2]:  # the batch dims do not broadcast
                from ._util import broadcast_error
                raise broadcast_error(np.empty(a.shape[:-2]), np.empty(b.shape[:-2])) from None
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({'x'.join(map(str, a.shape))} and {'x'.join(map(str, b.shape))})") from None

    def backward(self, g):
        a, b = self.saved_tensors
        nf = self.next_functions
        ga = sum_to(matmul(g, b.mT), self.sa) if nf[0][0] is not None else None
        gb = sum_to(matmul(a.mT, g), self.sb) if nf[1][0] is not None else None
        return ga, gb


def _blas_ready(x: np.ndarray) -> np.ndarray:
    """Copy arrays with zero strides (broadcast gradients): numpy's matmul
    leaves BLAS for them and runs several times slower."""
    if x.ndim >= 2 and x.size > 4096 and 0 in x.strides[-2:]:
        return np.ascontiguousarray(x)
    return x


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(b, Tensor):
        b = _make(np.asarray(b, dtype=a._data.dtype))
    if not isinstance(a, Tensor):
        a = _make(np.asarray(a, dtype=b._data.dtype))
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    if a._data.ndim == 1 and b._data.ndim == 1:
        if a._data.shape != b._data.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._data.shape[0]}] and "
                               f"src [{b._data.shape[0]}] to have the same number of elements")
        return (a.unsqueeze(0) @ b.unsqueeze(1)).reshape(())
    if a._data.ndim == 1:
        return apply(MmBackward0, (a.unsqueeze(0), b)).squeeze(-2)
    if b._data.ndim == 1:
        return apply(MmBackward0, (a, b.unsqueeze(1))).squeeze(-1)
    return apply(MmBackward0, (a, b))


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError("mm: both arguments must be 2D")
    return matmul(a, b)


bmm = matmul


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    return matmul(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    return matmul(a, v)


def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.unsqueeze(1) * b.unsqueeze(0)


ger = outer


def addmm(bias, a, b, beta=1, alpha=1):
    out = matmul(a, b)
    if alpha != 1:
        out = out * alpha
    return out + (bias * beta if beta != 1 else bias)


class EinsumBackward0(Node):
    save_inputs = property(lambda self: tuple(range(len(self.ins))))

    def forward(self, *args):
        arrays, (ins, out) = args[:-1], args[-1]
        self.ins, self.out = ins, out
        self.shapes = [a.shape for a in arrays]
        try:
            return np.einsum(",".join(ins) + "->" + out, *arrays, optimize=True)
        except ValueError as exc:
            raise RuntimeError(f"einsum(): {exc}") from None

    def backward(self, g):
        ops = self.saved_tensors
        grads = []
        for i, (nxt, _) in enumerate(self.next_functions):
            if nxt is None:
                grads.append(None)
                continue
            target = self.ins[i]
            uniq = "".join(dict.fromkeys(target))  # a repeated letter reads a diagonal
            size = {c: self.shapes[i][target.index(c)] for c in uniq}
            others = [(s, t) for j, (s, t) in enumerate(zip(self.ins, ops)) if j != i]
            avail = set(self.out).union(*[set(s) for s, _ in others])
            reduced = "".join(c for c in uniq if c in avail)
            subs = ",".join([self.out] + [s for s, _ in others]) + "->" + reduced
            gi = einsum(subs, g, *[t for _, t in others])
            if reduced != uniq:  # letters summed only inside operand i: broadcast back
                shape = tuple(size[c] if c in avail else 1 for c in uniq)
                gi = gi.reshape(shape).expand(*(size[c] for c in uniq))
            if uniq != target:
                gi = _embed_diagonal(gi, uniq, target, size)
            grads.append(gi)
        return tuple(grads)


def _embed_diagonal(g: Tensor, uniq: str, target: str, size: dict) -> Tensor:
    """``g`` over the distinct letters ``uniq`` -> ``target`` shape, zero off the diagonals
    its repeated letters name (the adjoint of reading a diagonal), as an einsum with
    identity matrices so that it stays differentiable."""
    free = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in target)
    seen: set = set()
    letters, eyes = [], []
    for c in target:
        if c in seen:
            new = next(free)
            letters.append(new)
            eyes.append(c + new)
        else:
            seen.add(c)
            letters.append(c)
    eye_ops = [_make(np.eye(size[e[0]], dtype=g._data.dtype)) for e in eyes]
    return einsum(",".join([uniq] + eyes) + "->" + "".join(letters), g, *eye_ops)


def _parse_einsum(eq: str, operands):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "").replace(".", "")
        # Implicit output: the broadcast dims ('...') first, then letters seen once, sorted.
        out = ("..." if "..." in lhs else "") + \
            "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if "." in eq:
        # Expand '...' into explicit letters so backward can treat all dims alike.
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
        nell = max(op.ndim - (len(s) - 3) for s, op in zip(ins, operands) if "..." in s)
        ell = "".join(free[:nell])
        ins = [s.replace("...", ell[nell - (op.ndim - (len(s) - 3)):]) if "..." in s else s
               for s, op in zip(ins, operands)]
        out = out.replace("...", ell)
    return ins, out


def einsum(equation: str, *operands) -> Tensor:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ins, out = _parse_einsum(equation, operands)
    return apply(EinsumBackward0, tuple(operands), (tuple(ins), out))
