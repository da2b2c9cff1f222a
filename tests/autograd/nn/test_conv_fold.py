"""unfold / fold (and the Unfold / Fold layers) against reference loops, with gradients."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F

RNG = np.random.default_rng(5)


def ref_unfold(x, k, d, p, s):
    N, C, H, W = x.shape
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    Oh = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    Ow = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((N, C * k[0] * k[1], Oh * Ow))
    for n, c, i, j, oh, ow in itertools.product(range(N), range(C), range(k[0]), range(k[1]),
                                                range(Oh), range(Ow)):
        out[n, (c * k[0] + i) * k[1] + j, oh * Ow + ow] = xp[n, c, oh * s[0] + i * d[0], ow * s[1] + j * d[1]]
    return out


def ref_fold(cols, size, k, d, p, s):
    N, CK, L = cols.shape
    C = CK // (k[0] * k[1])
    Hp, Wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    Oh = (Hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    Ow = (Wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((N, C, Hp, Wp))
    for n, c, i, j, oh, ow in itertools.product(range(N), range(C), range(k[0]), range(k[1]),
                                                range(Oh), range(Ow)):
        out[n, c, oh * s[0] + i * d[0], ow * s[1] + j * d[1]] += cols[n, (c * k[0] + i) * k[1] + j, oh * Ow + ow]
    return out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


GEOMS = [((2, 2), (1, 1), (0, 0), (2, 2)), ((3, 2), (1, 2), (1, 0), (1, 2)), ((2, 3), (2, 1), (1, 1), (2, 1))]


@pytest.mark.parametrize("k,d,p,s", GEOMS)
def test_unfold_fold_match_reference(k, d, p, s):
    x = RNG.standard_normal((2, 3, 6, 7))
    cols = F.unfold(autograd.tensor(x), k, dilation=d, padding=p, stride=s)
    np.testing.assert_allclose(cols.numpy(), ref_unfold(x, k, d, p, s))
    c = RNG.standard_normal(cols.shape)
    back = F.fold(autograd.tensor(c), (6, 7), k, dilation=d, padding=p, stride=s)
    np.testing.assert_allclose(back.numpy(), ref_fold(c, (6, 7), k, d, p, s), atol=1e-12)


@pytest.mark.parametrize("k,d,p,s", GEOMS[1:])
def test_gradients(k, d, p, s):
    x = autograd.from_numpy(RNG.standard_normal((1, 2, 5, 5))).requires_grad_()
    f = (lambda a: F.unfold(a, k, d, p, s))
    assert autograd.gradcheck(f, (x,)) and autograd.gradgradcheck(f, (x,))
    L = F.unfold(x, k, d, p, s).shape[-1]
    c = autograd.from_numpy(RNG.standard_normal((1, 2 * k[0] * k[1], L))).requires_grad_()
    g = (lambda a: F.fold(a, (5, 5), k, d, p, s))
    assert autograd.gradcheck(g, (c,)) and autograd.gradgradcheck(g, (c,))


def test_modules_and_unbatched():
    assert repr(nn.Unfold(kernel_size=(2, 3))) == "Unfold(kernel_size=(2, 3), dilation=1, padding=0, stride=1)"
    assert repr(nn.Fold((4, 5), 2)) == \
        "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)"
    x = autograd.randn(3, 4, 4)
    cols = nn.Unfold(2, stride=2)(x)
    assert tuple(cols.shape) == (12, 4)
    np.testing.assert_allclose(nn.Fold((4, 4), 2, stride=2)(cols).numpy(), x.numpy())
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(autograd.randn(1, 8, 5), (4, 4), 2, stride=2)
