"""Fused BatchNorm + ReLU (``F.batch_norm(..., _relu=True)``, ``BatchNorm*.forward_relu``).

The fused node must give the same numbers as ``relu(batch_norm(x))``, bit for
bit, in training and eval, with exact first- and second-order gradients.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import autograd.nn.functional as F
from _autograd_testutil import assert_close, check, leaf

A = autograd


def _unfused(x, rm, rv, w, b, training):
    return F.relu(F.batch_norm(x, rm, rv, w, b, training=training))


def _fused(x, rm, rv, w, b, training):
    return F.batch_norm(x, rm, rv, w, b, training=training, _relu=True)


def test_gradcheck_fused_train_and_eval():
    x, w, b = leaf(3, 2, 2, 3), leaf(2, seed=1), leaf(2, seed=2)
    check(lambda x, w, b: _fused(x, None, None, w, b, True), x, w, b)
    check(lambda x: _fused(x, None, None, None, None, True), leaf(4, 3, 2, seed=3))
    rm, rv = A.tensor([0.1, -0.2], dtype=A.float64), A.tensor([0.5, 2.0], dtype=A.float64)
    check(lambda x, w, b: _fused(x, rm, rv, w, b, False), x, w, b)


def test_fused_backward_matches_graph_backward():
    """The blocked numpy backward equals the differentiable-ops one (create_graph)."""
    x, w, b = leaf(4, 3, 5), leaf(3, seed=1), leaf(3, seed=2)
    g = A.randn(4, 3, 5, dtype=A.float64)
    fast = autograd.autograd.grad(_fused(x, None, None, w, b, True), (x, w, b), g)
    slow = autograd.autograd.grad(_fused(x, None, None, w, b, True), (x, w, b), g, create_graph=True)
    for a, s in zip(fast, slow):
        assert_close(a, s, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 4, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_bitwise_equal_to_relu_of_batch_norm(shape, training):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape).astype(np.float32)
    g = A.tensor(rng.standard_normal(shape).astype(np.float32))
    c = shape[1]
    results = []
    for fn in (_unfused, _fused):
        x = A.tensor(data, requires_grad=True)
        w = A.tensor(rng.uniform(0.5, 1.5, c).astype(np.float32), requires_grad=True)
        b = A.tensor(np.linspace(-0.5, 0.5, c, dtype=np.float32), requires_grad=True)
        rm, rv = A.zeros(c) + 0.1, A.ones(c) * 1.5
        y = fn(x, rm, rv, w, b, training)
        y.backward(g)
        results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(),
                        rm.numpy(), rv.numpy()])
        rng = np.random.default_rng(0)
        rng.standard_normal(shape), rng.standard_normal(shape)
    for a, f in zip(*results):
        np.testing.assert_array_equal(a, f)


def test_eval_without_grad_is_the_graph_path():
    bn = nn.BatchNorm3d(3)
    bn.running_mean.copy_(A.tensor([0.2, -0.1, 0.0]))
    bn.running_var.copy_(A.tensor([0.5, 1.0, 2.0]))
    bn.eval()
    x = A.randn(2, 3, 4, 5, 6)
    with A.no_grad():
        fast, fast_relu = bn(x), bn.forward_relu(x)
    graph = bn(x.requires_grad_())
    np.testing.assert_array_equal(fast.numpy(), graph.detach().numpy())
    np.testing.assert_array_equal(fast_relu.numpy(), F.relu(graph).detach().numpy())
    assert not fast.requires_grad and graph.requires_grad


def test_fused_output_modified_in_place_is_refused():
    x = leaf(2, 2, 3)
    y = _fused(x, None, None, None, None, True)
    y.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_conv_block_fuses_unless_hooked():
    from bioimg.models._blocks import ConvBlock
    block = ConvBlock(1, 2, 2)
    x = A.randn(2, 1, 6, 6)
    assert block(x).grad_fn.name() == "NativeNormReluBackward0"
    seen = []
    block[2].register_forward_hook(lambda m, i, o: seen.append(o))
    y = block(x)  # the hooked pair runs layer by layer, the other stays fused
    assert len(seen) == 1 and seen[0].grad_fn.name() != "NativeNormReluBackward0"
    assert y.grad_fn.name() == "NativeNormReluBackward0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
def test_compiled_eval_affine_is_bitwise_the_numpy_passes(monkeypatch, dtype, relu):
    """The one-pass compiled eval kernel rounds as the numpy passes: same bits, incl. -0, NaN, inf."""
    from autograd.nn.functional import _norm, _norm_jit
    if _norm_jit.affine_eval is None:
        pytest.skip("numba not installed")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3, 7, 9)).astype(dtype)
    x.flat[:6] = [-0.0, 0.0, np.nan, np.inf, -np.inf, -1e-30]
    scale, shift = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    scale[1], shift[1] = 0.0, -0.0
    got = _norm._affine_eval(x, scale, shift, relu)
    monkeypatch.setattr(_norm_jit, "affine_eval", None)
    ref = _norm._affine_eval(x, scale, shift, relu)
    assert got.dtype == ref.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), ref.view(np.uint8))
