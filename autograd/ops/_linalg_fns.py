"""``torch.linalg``: norms, inverse, determinants, solve, Cholesky, eigen/singular values.

Backwards are written with differentiable ops (matmul, inv, tril), so second derivatives
work too, except for the decomposition outputs marked non-differentiable below.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._apply import apply
from .._node import Node
from .._tensor import Tensor
from ._linalg import matmul
from ._util import const

_make = Tensor._make


def _square(A: Tensor, name: str) -> None:
    if A._data.ndim < 2 or A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{A._data.shape[-2] if A._data.ndim >= 2 else A._data.ndim} by "
                           f"{A._data.shape[-1] if A._data.ndim else 0} matrices")
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. "
                           f"Got {A.dtype}")


def _lin_err(fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as exc:
        raise RuntimeError(f"linalg: {exc} (the input is singular or not positive-definite)") from None


class LinalgInvBackward0(Node):
    saves_output = True

    def forward(self, A):
        return _lin_err(np.linalg.inv, A).astype(A.dtype, copy=False)

    def backward(self, g):
        Ainv = self.output()
        return -matmul(matmul(Ainv.mT, g), Ainv.mT)


def inv(A: Tensor) -> Tensor:
    _square(A, "inv")
    return apply(LinalgInvBackward0, (A,))


class LinalgDetBackward0(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, A):
        return np.asarray(np.linalg.det(A), dtype=A.dtype)

    def backward(self, g):
        (A,) = self.saved_tensors
        return (g * self.output()).unsqueeze(-1).unsqueeze(-1) * inv(A).mT


def det(A: Tensor) -> Tensor:
    _square(A, "det")
    return apply(LinalgDetBackward0, (A,))


class LogAbsDetBackward0(Node):
    save_inputs = (0,)

    def forward(self, A):
        return np.asarray(np.linalg.slogdet(A)[1], dtype=A.dtype)

    def backward(self, g):
        (A,) = self.saved_tensors
        return g.unsqueeze(-1).unsqueeze(-1) * inv(A).mT


_Slogdet = namedtuple("slogdet", ["sign", "logabsdet"])


def slogdet(A: Tensor):
    _square(A, "slogdet")
    sign = _make(np.asarray(np.linalg.slogdet(A._data)[0], dtype=A._data.dtype))
    return _Slogdet(sign, apply(LogAbsDetBackward0, (A,)))


def logdet(A: Tensor) -> Tensor:
    """log(det A): NaN where the determinant is negative, -inf where it is 0."""
    from ._unary import where
    s, la = slogdet(A)
    if (s._data < 0).any():
        return where(s._data < 0, float("nan"), la)
    return la


class LinalgSolveBackward0(Node):
    save_inputs = (0,)
    saves_output = True

    def forward(self, A, B):
        return _lin_err(np.linalg.solve, A, B).astype(np.result_type(A, B), copy=False)

    def backward(self, g):
        (A,) = self.saved_tensors
        gB = solve(A.mT, g)
        nf = self.next_functions
        gA = -matmul(gB, self.output().mT) if nf[0][0] is not None else None
        return gA, gB


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B)."""
    _square(A, "solve")
    if not left:
        return solve(A.mT, B.mT).mT
    if B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1]):
        return apply(LinalgSolveBackward0, (A, B.unsqueeze(-1))).squeeze(-1)
    return apply(LinalgSolveBackward0, (A, B))


class LinalgCholeskyBackward0(Node):
    saves_output = True

    def forward(self, A, upper):
        self.upper = upper
        L = _lin_err(np.linalg.cholesky, A)
        return L.swapaxes(-1, -2).copy() if upper else L

    def backward(self, g):
        from ._diag import tril
        L = self.output()
        if self.upper:
            L, g = L.mT, g.mT
        # gA = L^-T Phi(L^T gL) L^-1, symmetrised; Phi keeps the lower triangle, half diagonal.
        P = tril(matmul(L.mT, g))
        P = P - 0.5 * (P - tril(P, -1))  # halve the diagonal
        Linv = inv(L)
        gA = matmul(matmul(Linv.mT, P), Linv)
        return (gA + gA.mT) * 0.5


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    _square(A, "cholesky")
    return apply(LinalgCholeskyBackward0, (A,), upper)


class EigvalshBackward0(Node):
    def forward(self, A, uplo):
        w, V = np.linalg.eigh(A, UPLO=uplo)
        self.V = V
        return w

    def backward(self, g):
        V = const(self.V)
        return matmul(V * g.unsqueeze(-2), V.mT)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    _square(A, "eigvalsh")
    return apply(EigvalshBackward0, (A,), UPLO)


_Eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])


def eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (differentiable) and eigenvectors (constants here) of symmetric matrices."""
    _square(A, "eigh")
    w = eigvalsh(A, UPLO)
    return _Eigh(w, _make(np.linalg.eigh(A._data, UPLO=UPLO)[1]))


class SvdvalsBackward0(Node):
    def forward(self, A):
        U, s, Vh = np.linalg.svd(A, full_matrices=False)
        self.U, self.Vh = U, Vh
        return s

    def backward(self, g):
        return matmul(const(self.U) * g.unsqueeze(-2), const(self.Vh))


def svdvals(A: Tensor) -> Tensor:
    return apply(SvdvalsBackward0, (A,))


_Svd = namedtuple("svd", ["U", "S", "Vh"])
_Qr = namedtuple("qr", ["Q", "R"])


def svd(A: Tensor, full_matrices: bool = True):
    """U, S, Vh (S differentiable; U and Vh are constants here)."""
    U, _, Vh = np.linalg.svd(A._data, full_matrices=full_matrices)
    return _Svd(_make(U), svdvals(A), _make(Vh))


def qr(A: Tensor, mode: str = "reduced"):
    """Q, R (not differentiable here)."""
    Q, R = np.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
    return _Qr(_make(Q), _make(R))


def pinv(A: Tensor, *, hermitian: bool = False) -> Tensor:
    """Pseudo-inverse of a full-rank matrix: ``(A^T A)^-1 A^T`` or ``A^T (A A^T)^-1``."""
    m, n = A._data.shape[-2:]
    if m >= n:
        return matmul(inv(matmul(A.mT, A)), A.mT)
    return matmul(A.mT, inv(matmul(A, A.mT)))


def matrix_power(A: Tensor, n: int) -> Tensor:
    _square(A, "matrix_power")
    if n == 0:
        from .._creation import eye
        return eye(A._data.shape[-1], dtype=A.dtype).expand(*A._data.shape)
    base = inv(A) if n < 0 else A
    out = base
    for _ in range(abs(n) - 1):
        out = matmul(out, base)
    return out


def multi_dot(tensors) -> Tensor:
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    return out


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    from ._reduce import norm as _norm
    if dtype is not None:
        x = x.to(dtype)
    return _norm(x, ord, dim, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    from ._reduce import amax, amin, norm as _norm, sum as _sum
    from ._unary import abs as _abs
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _norm(A, 2, dim, keepdim)
    if ord == "nuc":
        out = svdvals(A).sum(-1)
    elif ord in (1, -1, float("inf"), float("-inf")):
        ax = -2 if ord in (1, -1) else -1
        s = _sum(_abs(A), ax)
        out = amax(s, -1) if ord in (1, float("inf")) else amin(s, -1)
    elif ord in (2, -2):
        sv = svdvals(A)
        out = amax(sv, -1) if ord == 2 else amin(sv, -1)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return out.unsqueeze(-1).unsqueeze(-1) if keepdim else out


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if ord is None or (dim is not None and not isinstance(dim, (tuple, list))) or \
            (dim is None and A._data.ndim == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    return (x * y).sum(dim)


def cross(a: Tensor, b: Tensor, *, dim: int = -1) -> Tensor:
    from ._extra import cross as _cross
    return _cross(a, b, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    from ._diag import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)


def matrix_rank(A: Tensor, *, hermitian: bool = False) -> Tensor:
    return _make(np.asarray(np.linalg.matrix_rank(A._data, hermitian=hermitian), dtype=np.int64))
