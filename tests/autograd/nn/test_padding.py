"""Padding layers against numpy.pad; border gradients of reflect/replicate/circular."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn as nn

RNG = np.random.default_rng(3)

NP_MODE = {"Reflection": "reflect", "Replication": "edge", "Circular": "wrap", "Zero": "constant"}


def _np_widths(padding, nd, ndim):
    p = (padding,) * (2 * nd) if isinstance(padding, int) else padding
    widths = [(0, 0)] * (ndim - nd)
    for i in range(nd):  # padding lists the last dim first
        widths.append((p[2 * (nd - 1 - i)], p[2 * (nd - 1 - i) + 1]))
    return widths


@pytest.mark.parametrize("kind", ["Reflection", "Replication", "Circular", "Zero"])
@pytest.mark.parametrize("nd,padding", [(1, 2), (1, (1, 3)), (2, 1), (2, (1, 2, 0, 3)), (3, (1, 0, 2, 1, 1, 1))])
def test_matches_numpy_pad_and_gradcheck(kind, nd, padding):
    layer = getattr(nn, f"{kind}Pad{nd}d")(padding)
    shape = (2, 3) + (4, 5, 4)[:nd]
    x = RNG.standard_normal(shape)
    y = layer(autograd.tensor(x))
    np.testing.assert_allclose(y.numpy(), np.pad(x, _np_widths(padding, nd, x.ndim), mode=NP_MODE[kind]))
    xs = autograd.from_numpy(RNG.standard_normal((1, 1) + (4, 4, 4)[:nd])).requires_grad_()
    assert autograd.gradcheck(layer, (xs,)) and autograd.gradgradcheck(layer, (xs,))
    assert tuple(layer(autograd.tensor(x[0])).shape) == tuple(y.shape[1:])  # unbatched


def test_reflection_gradient_adds_border_terms():
    x = autograd.arange(4.0).reshape(1, 1, 4).requires_grad_()
    nn.ReflectionPad1d(2)(x).sum().backward()
    # padded = [2, 1, 0, 1, 2, 3, 2, 1]: counts per source element
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1, 3, 3, 1])
    x.grad = None
    nn.ReplicationPad1d((2, 1))(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [3, 1, 1, 2])


def test_constant_pad_and_repr():
    x = RNG.standard_normal((2, 3, 4))
    layer = nn.ConstantPad2d((1, 0, 2, 1), 3.5)
    np.testing.assert_allclose(layer(autograd.tensor(x)).numpy(),
                               np.pad(x, [(0, 0), (2, 1), (1, 0)], constant_values=3.5))
    assert repr(layer) == "ConstantPad2d(padding=(1, 0, 2, 1), value=3.5)"
    assert repr(nn.ConstantPad1d(2, 1.0)) == "ConstantPad1d(padding=(2, 2), value=1.0)"
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ReflectionPad2d((1, 2, 3, 4))) == "ReflectionPad2d((1, 2, 3, 4))"
    assert repr(nn.ReplicationPad3d(1)) == "ReplicationPad3d((1, 1, 1, 1, 1, 1))"
    assert tuple(nn.ConstantPad3d(1, 0.0)(autograd.randn(1, 2, 2, 2)).shape) == (1, 4, 4, 4)


def test_errors():
    with pytest.raises(ValueError):
        nn.ReflectionPad2d((1, 2, 3))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.ReflectionPad2d(1)(autograd.randn(4, 4))
    with pytest.raises(RuntimeError, match="Padding size should be less"):
        nn.ReflectionPad1d(4)(autograd.randn(1, 1, 4))
