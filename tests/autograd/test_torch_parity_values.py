"""Regression tests for issue 17 (PyTorch parity): silent wrong results, crashes on valid
calls, torch's error types, and the new ops. Expected values were computed with PyTorch
2.x and are hard-coded, so these run without torch installed."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as torch

F = torch.nn.functional


def vals(t):
    return t.detach().numpy().tolist()


# -- silent wrong results ------------------------------------------------------------
def test_bitwise_on_int_tensors_is_bitwise_not_logical():
    a = torch.tensor([5, 3, 6])
    assert vals(a ^ 3) == [6, 0, 5] and (a ^ 3).dtype == torch.int64
    assert vals(a & 6) == [4, 2, 6]
    assert vals(a | 8) == [13, 11, 14]
    assert vals(~a) == [-6, -4, -7]
    assert vals(torch.tensor([1, -8]) << 2) == [4, -32]
    assert vals(torch.tensor([1, -8]) >> 1) == [0, -4]
    assert vals(1 << torch.tensor([0, 3])) == [1, 8]
    b = torch.tensor([True, False])
    assert vals(b ^ torch.tensor([True, True])) == [False, True] and (~b).dtype == torch.bool
    assert (torch.tensor([1, 2], dtype=torch.int32) & torch.tensor([3, 3], dtype=torch.int32)).dtype == torch.int32
    with pytest.raises(NotImplementedError):
        torch.ones(2) & torch.ones(2)
    with pytest.raises(TypeError):
        ~torch.ones(2)


def test_einsum_implicit_output_keeps_ellipsis_batch_axes():
    a, b = torch.randn(5, 2, 3, 4), torch.randn(5, 2, 6, 4)
    out = torch.einsum("...id,...jd", a, b)
    assert out.shape == (5, 2, 3, 6)
    np.testing.assert_allclose(vals(out), vals(a @ b.transpose(-1, -2)), rtol=1e-5, atol=1e-5)


def test_int_slice_tensor_index_orders_axes_like_torch():
    x = torch.arange(24).reshape(2, 3, 4)
    idx = torch.tensor([0, 1])
    assert x[0, :, idx].shape == (3, 2)
    assert vals(x[0, :, idx]) == [[0, 1], [4, 5], [8, 9]]
    assert x[:, 0, [0, 2]].shape == (2, 2)
    assert x[[0, 1], :, 0].shape == (2, 3)
    assert x[0, None, :, [1, 2]].shape == (1, 3, 2)
    y = torch.zeros(2, 3, 4)
    y[0, :, idx] = torch.arange(6.0).reshape(3, 2)
    assert vals(y[0, :, :2]) == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    x = torch.randn(2, 3, 4, requires_grad=True)
    x[0, :, idx].sum().backward()
    assert x.grad[0, :, :2].sum().item() == 6.0 and x.grad.sum().item() == 6.0


def test_index_with_range_and_tuple():
    x = torch.arange(12).reshape(3, 4)
    assert vals(x[:, range(2)]) == [[0, 1], [4, 5], [8, 9]]
    assert vals(x[:, (0, 2)]) == [[0, 2], [4, 6], [8, 10]]
    assert x[[]].shape == (0, 4)


def test_cumsum_of_0d_is_0d():
    assert torch.tensor(2.0).cumsum(0).shape == ()
    assert torch.tensor(2.0).cumprod(0).shape == ()


def test_python_scalars_never_widen_tensor_dtype():
    f, i = torch.ones(3), torch.ones(3, dtype=torch.int32)
    assert torch.div(f, i, rounding_mode="floor").dtype == torch.float32
    assert torch.div(i, 2, rounding_mode="trunc").dtype == torch.int32
    assert (f % i).dtype == torch.float32
    assert (i // 2).dtype == torch.int32 and (i % 2).dtype == torch.int32
    assert (i % 2.5).dtype == torch.float32 and (i // 2.5).dtype == torch.float32
    assert (2 ** i).dtype == torch.int32
    assert vals(torch.tensor([-7, 7], dtype=torch.int32) // 2) == [-4, 3]
    assert vals(torch.div(torch.tensor([-7, 7], dtype=torch.int32), 2, rounding_mode="trunc")) == [-3, 3]
    assert vals(2 ** torch.tensor([-1, 2])) == [0, 4]


def test_zero_base_pow_gradient_is_zero():
    y = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    (0 ** y).sum().backward()
    assert vals(y.grad) == [0.0, 0.0, 0.0]


def test_mod_family_values():
    a = torch.tensor([-3.0, 3.0])
    assert vals(torch.fmod(a, 2.0)) == [-1.0, 1.0]
    assert vals(torch.remainder(a, 2.0)) == [1.0, 1.0]
    assert vals(5.0 % a) == [-1.0, 2.0]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.ones(2, dtype=torch.int64) % 0


# -- crashes on valid calls -----------------------------------------------------------
def test_gather_index_smaller_than_input():
    x = torch.arange(12.0).reshape(3, 4).requires_grad_()
    out = torch.gather(x, 1, torch.tensor([[0], [3]]))
    assert vals(out) == [[0.0], [7.0]]
    out.sum().backward()
    assert x.grad.sum().item() == 2.0 and x.grad[1, 3].item() == 1.0


def test_backward_through_empty_outputs():
    x = torch.zeros(0, requires_grad=True)
    torch.roll(x, 1).sum().backward()
    assert x.grad.shape == (0,)
    y = torch.ones(3, requires_grad=True)
    F.pad(y, (-2, -1)).sum().backward()
    assert vals(y.grad) == [0.0, 0.0, 0.0]


def test_normalize_p0_counts_nonzeros():
    out = F.normalize(torch.tensor([[1.0, 0.0, 2.0]]), p=0, dim=1)
    np.testing.assert_allclose(vals(out), [[0.5, 0.0, 1.0]])


def test_circular_pad_negative_wraps_cropped_input():
    x = torch.arange(5.0).reshape(1, 1, 5)
    assert vals(F.pad(x, (-1, 2), mode="circular")) == [[[1.0, 2.0, 3.0, 4.0, 1.0, 2.0]]]
    assert vals(F.pad(x, (2, -1), mode="circular")) == [[[2.0, 3.0, 0.0, 1.0, 2.0, 3.0]]]
    assert vals(F.pad(x, (-1, 2), mode="reflect")) == [[[1.0, 2.0, 3.0, 4.0, 3.0, 2.0]]]


def test_bilinear_interpolate_uint8():
    x = torch.tensor(np.array([[[[0, 50], [100, 150]]]], dtype=np.uint8))
    out = F.interpolate(x, size=(3, 3), mode="bilinear")
    assert out.dtype == torch.uint8
    assert vals(out) == [[[[0, 25, 50], [50, 75, 100], [100, 125, 150]]]]


# -- torch's errors -------------------------------------------------------------------
def test_errors_match_torch():
    with pytest.raises(IndexError, match="Dimension out of range"):
        torch.tensor(1.0).sum(1)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        torch.tensor([1.0, 2.0]).topk(3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        torch.ones(3).cumsum(1)
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.ones(2, 3).gather(1, torch.tensor([[3]]))
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        torch.ones(4).narrow(0, 3, 2)
    with pytest.raises(RuntimeError, match="does not support bool"):
        torch.tensor([True]).argmax()
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        torch.ones(0).max()
    with pytest.raises(RuntimeError, match="negative dimension"):
        torch.zeros(-1)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        torch.arange(0, 5, 0)
    with pytest.raises(TypeError, match="unsupported format string"):
        format(torch.ones(2), ".2f")


# -- new ops: values ---------------------------------------------------------------------
def test_trig_and_special_values():
    np.testing.assert_allclose(vals(torch.asinh(torch.tensor([1.0]))), [0.8814], atol=1e-4)
    np.testing.assert_allclose(vals(torch.acosh(torch.tensor([2.0]))), [1.3170], atol=1e-4)
    np.testing.assert_allclose(vals(torch.atanh(torch.tensor([0.5]))), [0.5493], atol=1e-4)
    assert torch.sinh(torch.ones(2)).dtype == torch.float32
    assert torch.asin(torch.tensor([0, 1])).dtype == torch.float32  # ints -> default float
    np.testing.assert_allclose(vals(torch.logaddexp(torch.tensor([0.0]), torch.tensor([0.0]))), [0.6931], atol=1e-4)
    assert vals(torch.lerp(torch.tensor([0.0, 10.0]), torch.tensor([10.0, 20.0]), 0.25)) == [2.5, 12.5]
    assert vals(torch.copysign(torch.tensor([1.0, -2.0]), torch.tensor([-1.0, 1.0]))) == [-1.0, 2.0]
    assert vals(torch.isclose(torch.tensor([1.0, 1.1]), torch.tensor([1.0, 1.0]))) == [True, False]


def test_scans():
    np.testing.assert_allclose(vals(torch.logcumsumexp(torch.tensor([0.0, 1.0, 2.0]), 0)),
                               [0.0, 1.3133, 2.4076], atol=1e-4)
    assert vals(torch.cumprod(torch.tensor([1.0, 2.0, 3.0]), 0)) == [1.0, 2.0, 6.0]
    v, i = torch.cummax(torch.tensor([1.0, 3.0, 3.0, 2.0, 5.0, float("nan"), 1.0]), 0)
    assert vals(i) == [0, 1, 2, 2, 4, 5, 5] and np.isnan(vals(v)[-1])
    assert vals(torch.cummin(torch.tensor([2.0, 1.0, 1.0, 3.0]), 0).indices) == [0, 1, 2, 2]


def test_scatter_family():
    out = torch.scatter(torch.zeros(2, 3), 1, torch.tensor([[2], [0]]), torch.tensor([[5.0], [6.0]]))
    assert vals(out) == [[0.0, 0.0, 5.0], [6.0, 0.0, 0.0]]
    assert vals(torch.zeros(3).scatter(0, torch.tensor([1]), 7.0)) == [0.0, 7.0, 0.0]
    base, idx = torch.tensor([1, 2, 3, 4]), torch.tensor([0, 0, 1])
    assert vals(torch.scatter_reduce(base, 0, idx, torch.tensor([5, 6, 7]), "mean")) == [4, 4, 3, 4]
    out = torch.scatter_reduce(base.float(), 0, idx, torch.tensor([5.0, 6.0, 7.0]), "mean", include_self=False)
    assert vals(out) == [5.5, 7.0, 3.0, 4.0]
    out = torch.scatter_reduce(base.float(), 0, idx, torch.tensor([5.0, 6.0, 7.0]), "amax")
    assert vals(out) == [6.0, 7.0, 3.0, 4.0]
    x = torch.zeros(3)
    x.scatter_(0, torch.tensor([2]), torch.tensor([1.0]))
    assert vals(x) == [0.0, 0.0, 1.0]


def test_diagonals_triangles_meshgrid():
    m = torch.arange(9.0).reshape(3, 3)
    assert vals(torch.tril(m)) == [[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [6.0, 7.0, 8.0]]
    assert vals(m.triu(1)) == [[0.0, 1.0, 2.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0]]
    assert vals(torch.diagonal(m, 1)) == [1.0, 5.0] and vals(torch.diag(m)) == [0.0, 4.0, 8.0]
    assert vals(torch.diag_embed(torch.tensor([1.0, 2.0]), 1)) == [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    gx, gy = torch.meshgrid(torch.tensor([1, 2, 3]), torch.tensor([4, 5]), indexing="xy")
    assert gx.shape == (2, 3) and vals(gx) == [[1, 2, 3], [1, 2, 3]] and vals(gy) == [[4, 4, 4], [5, 5, 5]]
    gi, _ = torch.meshgrid(torch.tensor([1, 2, 3]), torch.tensor([4, 5]), indexing="ij")
    assert gi.shape == (3, 2)
    t = torch.ones(2, 2)
    t.tril_()
    assert vals(t) == [[1.0, 0.0], [1.0, 1.0]]


def test_misc_new_ops():
    assert vals(torch.arange(7.0).unfold(0, 3, 2)) == [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]]
    assert vals(torch.repeat_interleave(torch.tensor([1, 2]), 2)) == [1, 1, 2, 2]
    assert vals(torch.tensor([[1, 2]]).repeat_interleave(torch.tensor([1, 2]), dim=1)) == [[1, 2, 2]]
    r, c = torch.nonzero(torch.tensor([[0, 1], [1, 0]]), as_tuple=True)
    assert vals(r) == [0, 1] and vals(c) == [1, 0]
    assert vals(torch.nonzero(torch.tensor([0, 3, 4]))) == [[1], [2]]
    assert vals(torch.argsort(torch.tensor([3, 1, 3, 2, 1]), stable=True, descending=True)) == [0, 2, 3, 1, 4]
    assert vals(torch.tensor([1.0]).view(torch.int32)) == [1065353216]
    assert torch.tensor([1.0, 2.0]).view(torch.uint8).shape == (8,)
    assert format(torch.tensor(3.14159), ".2f") == "3.14" and f"{torch.tensor(7):>4}" == "   7"
    x = torch.randn(3, 4)
    assert torch.sum(x, axis=1, keepdims=True).shape == (3, 1)
    assert x.mean(axis=0).shape == (4,) and torch.cat([x, x], axis=1).shape == (3, 8)


def test_float32_default_no_accidental_float64():
    x = torch.randn(4)
    for out in (torch.sinh(x), torch.atan2(x, x), torch.logaddexp(x, x), torch.cumprod(x, 0),
                torch.logcumsumexp(x, 0), torch.fmod(x, 2), x % 2, torch.lerp(x, x, 0.5),
                torch.hypot(x, x), torch.erfc(x), torch.xlogy(x, x.abs()), torch.tril(x.reshape(2, 2))):
        assert out.dtype == torch.float32


def test_statistics_and_linalg_values():
    x = torch.tensor([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 1.0, 0.0]])
    np.testing.assert_allclose(vals(torch.quantile(x, 0.3, dim=1)), [1.9, 0.9], rtol=1e-6)
    m = torch.mode(x, 1)
    assert vals(m.values) == [2.0, 4.0] and vals(m.indices) == [2, 1]
    np.testing.assert_allclose(vals(torch.cov(x)), [[0.6667, -1.3333], [-1.3333, 4.25]], atol=1e-4)
    a = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(torch.linalg.det(a).item(), 5.0, rtol=1e-6)
    np.testing.assert_allclose(vals(torch.linalg.inv(a)), [[0.6, -0.2], [-0.2, 0.4]], rtol=1e-5)
    assert vals(torch.kron(torch.tensor([[1, 2]]), torch.tensor([[1], [10]]))) == [[1, 2], [10, 20]]
    assert vals(torch.tensor([1, 2, 3]).diff()) == [1, 1]
    assert vals(torch.cdist(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]))) == [[5.0]]
    u, c = torch.unique(torch.tensor([3, 1, 3]), return_counts=True)
    assert vals(u) == [1, 3] and vals(c) == [1, 2]
    assert vals(torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([3, 4]))) == [1, 2]
    assert vals(torch.bincount(torch.tensor([0, 2, 2]))) == [1, 0, 2]
    assert torch.tensordot(torch.ones(2, 3), torch.ones(3, 4), 1).shape == (2, 4)


def test_special_values():
    np.testing.assert_allclose(vals(torch.lgamma(torch.tensor([3.0]))), [0.6931], atol=1e-4)
    np.testing.assert_allclose(vals(torch.erfinv(torch.tensor([0.5]))), [0.4769], atol=1e-4)
    np.testing.assert_allclose(vals(torch.logit(torch.tensor([0.25]))), [-1.0986], atol=1e-4)
    nan = float("nan")
    assert vals(torch.fmax(torch.tensor([1.0, nan]), torch.tensor([nan, 2.0]))) == [1.0, 2.0]
    assert torch.nansum(torch.tensor([1.0, nan])).item() == 1.0
    assert torch.nanmean(torch.tensor([1.0, nan, 3.0])).item() == 2.0
    assert torch.float_power(torch.ones(2), 2).dtype == torch.float64
    assert vals(torch.tensor([1.7, -1.7]).frac()) == pytest.approx([0.7, -0.7], abs=1e-6)
    assert vals(torch.hsplit(torch.arange(4).reshape(1, 4), 2)[1]) == [[2, 3]]
