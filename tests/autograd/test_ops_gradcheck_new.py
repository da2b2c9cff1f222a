"""float64 gradcheck (and gradgradcheck where a second derivative exists) for the ops added
for PyTorch parity: trig/hyperbolic, binary elementwise, scans, scatter, diagonals, linalg."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as A
from _autograd_testutil import check, leaf, pos

CASES = []


def case(name, fn, make, gradgrad=True):
    CASES.append(pytest.param(fn, make, gradgrad, id=name))


def inside(*shape, seed=0, lim=0.8):
    return leaf(*shape, seed=seed, low=-lim, high=lim)


# trig / hyperbolic
case("sinh", A.sinh, lambda: (leaf(2, 3),))
case("cosh", A.cosh, lambda: (leaf(2, 3),))
case("tan", A.tan, lambda: (leaf(2, 3),))
case("asinh", A.asinh, lambda: (leaf(2, 3),))
case("acosh", A.acosh, lambda: (pos(2, 3, low=1.2, high=3.0),))
case("atanh", A.atanh, lambda: (inside(2, 3),))
case("asin", A.asin, lambda: (inside(2, 3),))
case("acos", A.acos, lambda: (inside(2, 3),))
case("atan", A.atan, lambda: (leaf(2, 3),))
case("sinc", A.sinc, lambda: (leaf(2, 3, away=0.1),))
case("erfc", A.erfc, lambda: (leaf(2, 3),))
case("erfinv", A.erfinv, lambda: (inside(2, 3),))
case("lgamma", A.lgamma, lambda: (pos(2, 3),))
case("digamma", A.digamma, lambda: (pos(2, 3),))
case("i0", A.i0, lambda: (leaf(2, 3),))
case("logit", A.logit, lambda: (pos(5, low=0.1, high=0.9),))
# binary
case("atan2", A.atan2, lambda: (leaf(3, 1, away=0.2), leaf(4, seed=1, away=0.2)))
case("hypot", A.hypot, lambda: (leaf(3, 4, away=0.2), leaf(4, seed=1, away=0.2)))
case("copysign", A.copysign, lambda: (leaf(3, 4, away=0.2), leaf(4, seed=1, away=0.2)))
case("logaddexp", A.logaddexp, lambda: (leaf(3, 4), leaf(4, seed=1)))
case("logaddexp2", A.logaddexp2, lambda: (leaf(3, 4), leaf(4, seed=1)))
case("fmod", A.fmod, lambda: (leaf(3, 4, low=-3, high=3), pos(4, seed=1)), gradgrad=False)
case("remainder", A.remainder, lambda: (leaf(3, 4, low=-3, high=3), pos(4, seed=1)), gradgrad=False)
case("rmod_scalar", lambda x: 5.5 % x, lambda: (pos(4),), gradgrad=False)
case("lerp", A.lerp, lambda: (leaf(3, 4), leaf(4, seed=1), leaf(3, 1, seed=2)))
case("xlogy", A.xlogy, lambda: (leaf(3, 4), pos(4, seed=1)))
case("fmax", A.fmax, lambda: (leaf(3, 4), leaf(4, seed=1)), gradgrad=False)
case("float_power", lambda a, b: A.float_power(a, b), lambda: (pos(3, 4), leaf(4, seed=1)))
case("rpow_zero_base", lambda y: 0 ** y + y, lambda: (pos(4),))
# scans
case("cumsum", lambda x: A.cumsum(x, 1), lambda: (leaf(3, 4),))
case("cumprod", lambda x: A.cumprod(x, 1), lambda: (leaf(3, 4, away=0.2),))
case("cumprod_zeros", lambda x: A.cumprod(x * A.tensor([1.0, 0.0, 1.0, 1.0], dtype=A.float64), 1),
     lambda: (leaf(2, 4, away=0.2),))
case("cummax", lambda x: A.cummax(x, 1).values, lambda: (leaf(3, 4),))
case("cummin", lambda x: A.cummin(x, 0).values, lambda: (leaf(3, 4),))
case("logcumsumexp", lambda x: A.logcumsumexp(x, 1), lambda: (leaf(3, 4),))
# scatter / gather / index
IDX = A.tensor([[0, 1], [2, 2], [1, 0]])
case("gather_small_index", lambda x: A.gather(x, 1, A.tensor([[0], [3]])), lambda: (leaf(3, 4),))
case("scatter_src", lambda x, s: A.scatter(x, 1, A.tensor([[0, 1], [2, 3], [1, 0]]), s), lambda: (leaf(3, 4), leaf(3, 2, seed=1)))
case("scatter_value", lambda x: x.scatter(1, IDX, 2.0), lambda: (leaf(3, 4),))
case("scatter_add", lambda x, s: A.scatter_add(x, 1, IDX, s), lambda: (leaf(3, 4), leaf(3, 2, seed=1)))
for _r in ("sum", "mean", "amax", "amin", "prod"):
    for _inc in (True, False):
        case(f"scatter_reduce_{_r}_{_inc}",
             (lambda r, inc: lambda x, s: A.scatter_reduce(x, 1, IDX, s, r, include_self=inc))(_r, _inc),
             lambda: (pos(3, 4), pos(3, 2, seed=1)), gradgrad=_r in ("sum", "mean"))
case("index_add", lambda x, s: x.index_add(0, A.tensor([0, 2, 0]), s), lambda: (leaf(3, 4), leaf(3, 4, seed=1)))
case("index_fill", lambda x: x.index_fill(1, A.tensor([0, 2]), 1.5), lambda: (leaf(3, 4),))
case("take_along_dim", lambda x: A.take_along_dim(x, A.tensor([[0], [3], [1]]), 1), lambda: (leaf(3, 4),))
case("index_int_slice_tensor", lambda x: x[0, :, A.tensor([0, 2, 2])], lambda: (leaf(2, 3, 4),))
case("index_range_tuple", lambda x: x[:, range(2)][:, (0, 1, 0)], lambda: (leaf(3, 4),))
# diagonals, triangles, windows
case("tril", lambda x: A.tril(x, 1), lambda: (leaf(2, 3, 4),))
case("triu", lambda x: A.triu(x, -1), lambda: (leaf(3, 4),))
case("diagonal", lambda x: A.diagonal(x, 1, 0, 2), lambda: (leaf(3, 2, 4),))
case("diag_1d", lambda x: A.diag(x, -1), lambda: (leaf(3),))
case("diag_embed", lambda x: A.diag_embed(x, 1, 0, 2), lambda: (leaf(2, 3),))
case("trace", A.trace, lambda: (leaf(3, 3),))
case("meshgrid_xy", lambda a, b: sum(g.sum() * (i + 1) for i, g in enumerate(A.meshgrid(a, b, indexing="xy"))) ,
     lambda: (leaf(3), leaf(4, seed=1)))
case("unfold", lambda x: x.unfold(1, 3, 2), lambda: (leaf(2, 7),))
case("repeat_interleave", lambda x: A.repeat_interleave(x, A.tensor([2, 0, 1]), dim=0), lambda: (leaf(3, 2),))
case("roll_empty", lambda x: A.roll(x, 1), lambda: (leaf(0),))
case("pad_circular_neg", lambda x: A.nn.functional.pad(x, (-1, 2), mode="circular"), lambda: (leaf(1, 2, 5),))
case("pad_crop_to_empty", lambda x: A.nn.functional.pad(x, (-2, -1)), lambda: (leaf(2, 3),))
# composites and linalg
case("kron", A.kron, lambda: (leaf(2, 2), leaf(2, 3, seed=1)))
case("cross", lambda a, b: A.cross(a, b, dim=1), lambda: (leaf(2, 3), leaf(2, 3, seed=1)))
case("cdist", A.cdist, lambda: (leaf(3, 2), leaf(4, 2, seed=1)))
case("tensordot", lambda a, b: A.tensordot(a, b, ([1, 0], [0, 2])), lambda: (leaf(2, 3), leaf(3, 4, 2, seed=1)))
case("linalg_inv", A.linalg.inv, lambda: (A.from_numpy(np.eye(3) * 2 + np.random.default_rng(0).uniform(-.5, .5, (3, 3))).requires_grad_(),))
case("linalg_det", A.linalg.det, lambda: (leaf(2, 3, 3),))
case("logabsdet", lambda a: A.linalg.slogdet(a).logabsdet, lambda: (A.from_numpy(np.eye(3) * 2 + np.random.default_rng(0).uniform(-.5, .5, (3, 3))).requires_grad_(),))
case("linalg_solve", A.linalg.solve, lambda: (A.from_numpy(np.eye(3) * 2 + np.random.default_rng(1).uniform(-.5, .5, (3, 3))).requires_grad_(), leaf(3, 2)))
case("cholesky", lambda a: A.linalg.cholesky(a @ a.mT + A.eye(3, dtype=A.float64)), lambda: (leaf(3, 3),))
case("eigvalsh", lambda a: A.linalg.eigvalsh(a + a.mT), lambda: (leaf(3, 3),), gradgrad=False)
case("svdvals", A.linalg.svdvals, lambda: (leaf(4, 3),), gradgrad=False)


@pytest.mark.parametrize("fn,make,gradgrad", CASES)
def test_gradcheck_new_ops(fn, make, gradgrad):
    check(fn, *make(), gradgrad=gradgrad)
