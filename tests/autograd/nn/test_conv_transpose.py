"""conv_transpose1d/2d/3d and ConvTranspose layers: output shapes, scatter reference, gradients."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F

RNG = np.random.default_rng(99)


def t64(*shape):
    return autograd.from_numpy(RNG.standard_normal(shape)).requires_grad_()


def ref_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Scatter definition: every input element adds w * x at o*s + k*d - p of the output."""
    nd = x.ndim - 2
    tup = (lambda v: (v,) * nd if isinstance(v, int) else tuple(v))
    s, p, op, d = tup(stride), tup(padding), tup(output_padding), tup(dilation)
    N, Cin = x.shape[:2]
    Cog = w.shape[1]
    K = w.shape[2:]
    I = x.shape[2:]
    S = tuple((I[i] - 1) * s[i] - 2 * p[i] + d[i] * (K[i] - 1) + op[i] + 1 for i in range(nd))
    out = np.zeros((N, Cog * groups) + S)
    Cig = Cin // groups
    for n, ci in itertools.product(range(N), range(Cin)):
        g = ci // Cig
        for o in itertools.product(*[range(v) for v in I]):
            for co in range(Cog):
                for k in itertools.product(*[range(v) for v in K]):
                    q = tuple(o[i] * s[i] + k[i] * d[i] - p[i] for i in range(nd))
                    if all(0 <= q[i] < S[i] for i in range(nd)):
                        out[(n, g * Cog + co) + q] += x[(n, ci) + o] * w[(ci, co) + k]
    if b is not None:
        out += b.reshape((1, -1) + (1,) * nd)
    return out


CASES = [
    (1, 2, 3, 2, (5,), (3,), dict(stride=2, padding=1, output_padding=1)),
    (1, 1, 2, 3, (4,), (2,), dict(stride=1, dilation=2, output_padding=1)),
    (2, 2, 4, 3, (3, 4), (3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, 1, 4, 2, (3, 3), (2, 3), dict(stride=(2, 3), padding=(0, 1), dilation=(2, 1), groups=2)),
    (2, 2, 3, 2, (4, 3), (2, 2), dict(stride=2)),
    (2, 1, 2, 2, (4, 5), (3, 3), dict(padding=1)),
    (3, 1, 2, 2, (2, 3, 2), (2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 1))),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{i}" for i, c in enumerate(CASES)])
def test_forward_matches_scatter_reference(case):
    nd, N, Cin, Cog, I, K, kw = case
    x = RNG.standard_normal((N, Cin) + I)
    w = RNG.standard_normal((Cin, Cog) + K)
    b = RNG.standard_normal(Cog * kw.get("groups", 1))
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    out = fn(autograd.tensor(x), autograd.tensor(w), autograd.tensor(b), **kw)
    np.testing.assert_allclose(out.numpy(), ref_conv_transpose(x, w, b, **kw), atol=1e-10)


@pytest.mark.parametrize("case", CASES[1::2], ids=[f"{c[0]}d-{i}" for i, c in enumerate(CASES[1::2])])
def test_gradcheck_and_gradgradcheck(case):
    nd, _, Cin, Cog, I, K, kw = case
    x, w, b = t64(1, Cin, *I), t64(Cin, Cog, *K), t64(Cog * kw.get("groups", 1))
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]

    def f(x, w, b):
        return fn(x, w, b, **kw)
    assert autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)
    assert autograd.gradgradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("size,k,s,p,op,d", [(5, 3, 2, 1, 1, 1), (4, 4, 2, 1, 0, 1), (3, 3, 1, 0, 1, 2),
                                            (6, 2, 3, 0, 2, 1), (7, 5, 1, 2, 0, 1)])
def test_output_size_formula(size, k, s, p, op, d):
    x = autograd.randn(1, 2, size, size + 1)
    w = autograd.randn(2, 3, k, k)
    y = F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    expect = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n in (size, size + 1)]
    assert list(y.shape) == [1, 3] + expect


def test_transpose_is_adjoint_of_conv():
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for matching geometry."""
    x, y = RNG.standard_normal((2, 3, 9, 8)), RNG.standard_normal((2, 4, 5, 4))
    w = RNG.standard_normal((4, 3, 3, 3))
    cx = F.conv2d(autograd.tensor(x), autograd.tensor(w), stride=2, padding=1).numpy()
    ty = F.conv_transpose2d(autograd.tensor(y), autograd.tensor(w), stride=2, padding=1,
                            output_padding=(0, 1)).numpy()
    assert cx.shape == y.shape and ty.shape == x.shape
    np.testing.assert_allclose((cx * y).sum(), (x * ty).sum(), rtol=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose2d(autograd.randn(1, 2, 3, 3), autograd.randn(2, 2, 3, 3), stride=2,
                           output_padding=2)
    with pytest.raises(RuntimeError, match="channels"):
        F.conv_transpose2d(autograd.randn(1, 3, 3, 3), autograd.randn(2, 2, 3, 3))


def test_module_shapes_repr_init_and_output_size():
    autograd.manual_seed(0)
    m = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert repr(m) == ("ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                       "output_padding=(1, 1), groups=2)")
    assert m.weight.shape == (4, 1, 3, 3) and m.bias.shape == (2,)
    bound = 1 / np.sqrt(1 * 9)  # PyTorch's fan_in of a transposed weight: dim 1 * kernel
    assert float(m.weight.abs().max()) <= bound
    assert tuple(m(autograd.randn(2, 4, 5, 5)).shape) == (2, 2, 10, 10)
    up = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1)
    x = autograd.randn(1, 3, 5, 5)
    assert tuple(up(x).shape) == (1, 3, 9, 9)
    assert tuple(up(x, output_size=(10, 10)).shape) == (1, 3, 10, 10)
    assert tuple(up(x, output_size=[1, 3, 10, 9]).shape) == (1, 3, 10, 9)
    with pytest.raises(ValueError, match="requested an output size"):
        up(x, output_size=(12, 12))
    lazy = nn.LazyConvTranspose1d(5, 2, stride=2)
    assert tuple(lazy(autograd.randn(2, 3, 4)).shape) == (2, 5, 8)
    assert lazy.weight.shape == (3, 5, 2)
    assert tuple(nn.ConvTranspose3d(2, 1, 2, stride=2)(autograd.randn(1, 2, 2, 3, 2)).shape) == (1, 1, 4, 6, 4)
    assert tuple(nn.ConvTranspose1d(2, 1, 3)(autograd.randn(2, 4)).shape) == (1, 6)
