"""Tensor API: creation, default dtypes and promotion, metadata, conversion, graph structure."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as torch
from autograd._node import AccumulateGrad


# -- creation -----------------------------------------------------------------

def test_tensor_default_dtypes():
    assert torch.tensor(1.5).dtype == torch.float32
    assert torch.tensor([1.0, 2]).dtype == torch.float32
    assert torch.tensor([1, 2]).dtype == torch.int64
    assert torch.tensor([True, False]).dtype == torch.bool
    assert torch.tensor(3).dtype == torch.int64
    assert torch.tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert torch.tensor(1.5, dtype=torch.float64).dtype == torch.float64


def test_tensor_from_numpy_keeps_dtype_and_copies():
    a = np.ones(3)
    t = torch.tensor(a)
    assert t.dtype == torch.float64
    a[0] = 5
    assert t[0].item() == 1.0
    assert torch.tensor(np.ones(2, dtype=np.int32)).dtype == torch.int32
    assert torch.tensor(np.float64(1.5)).dtype == torch.float64


def test_tensor_from_list_of_tensors():
    t = torch.tensor([torch.tensor(1.0), torch.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0] and t.dtype == torch.float32


def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3, dtype=np.float32)
    t = torch.from_numpy(a)
    a[1] = 7
    assert t.tolist() == [0.0, 7.0, 0.0]
    t[2] = 3
    assert a[2] == 3
    b = np.zeros(2)
    assert np.shares_memory(torch.as_tensor(b).numpy(), b)
    x = torch.ones(2)
    assert torch.as_tensor(x) is x
    assert torch.as_tensor([1.0, 2.0]).dtype == torch.float32
    with pytest.raises(TypeError):
        torch.from_numpy([1, 2])


def test_zeros_ones_full_empty():
    assert torch.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert torch.zeros((2, 3)).shape == (2, 3)
    assert torch.zeros([4]).shape == (4,)
    assert torch.zeros(()).shape == ()
    assert torch.ones(2, dtype=torch.int64).dtype == torch.int64
    assert torch.ones(2, 3).dtype == torch.float32
    assert torch.full((2,), 1.5).tolist() == [1.5, 1.5]
    assert torch.full((2,), 1.5).dtype == torch.float32
    assert torch.full((2,), 3).dtype == torch.int64
    assert torch.full((2,), True).dtype == torch.bool
    assert torch.empty(2, 3).shape == (2, 3) and torch.empty(2).dtype == torch.float32
    z = torch.zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf


def test_arange_linspace_eye():
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4] and torch.arange(5).dtype == torch.int64
    assert torch.arange(1, 4).tolist() == [1, 2, 3]
    assert torch.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert torch.arange(0, 1, 0.25).dtype == torch.float32
    assert torch.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert torch.arange(3, dtype=torch.float64).dtype == torch.float64
    lin = torch.linspace(0, 1, 5)
    assert lin.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and lin.dtype == torch.float32
    assert torch.linspace(2, 3, 1).tolist() == [2.0]
    assert torch.eye(3).tolist() == np.eye(3).tolist()
    assert torch.eye(2, 3).shape == (2, 3) and torch.eye(2).dtype == torch.float32


def test_random_creation_shapes_dtypes_ranges():
    r = torch.rand(1000)
    assert r.dtype == torch.float32 and 0 <= r.min().item() and r.max().item() < 1
    n = torch.randn(2, 3)
    assert n.shape == (2, 3) and n.dtype == torch.float32
    assert torch.rand((2, 3)).shape == (2, 3)
    assert torch.randn(2, dtype=torch.float64).dtype == torch.float64
    ri = torch.randint(0, 10, (500,))
    assert ri.dtype == torch.int64 and ri.min().item() >= 0 and ri.max().item() <= 9
    assert torch.randint(5, (2, 2)).shape == (2, 2)
    assert torch.randint(3, 5, size=(4,)).min().item() >= 3
    assert sorted(torch.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert torch.rand(3, requires_grad=True).requires_grad


def test_like_functions():
    x = torch.ones(2, 3, dtype=torch.float64)
    for fn in (torch.zeros_like, torch.ones_like, torch.empty_like, torch.rand_like, torch.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == torch.float64
    assert torch.zeros_like(x).tolist() == [[0.0] * 3] * 2
    assert torch.ones_like(x, dtype=torch.float32).dtype == torch.float32
    assert torch.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    assert torch.zeros_like(torch.tensor([1, 2])).dtype == torch.int64
    assert torch.ones_like(x, requires_grad=True).requires_grad


def test_manual_seed_reproducibility():
    torch.manual_seed(3)
    a, b, c = torch.randn(4).tolist(), torch.rand(2).tolist(), torch.randint(0, 100, (3,)).tolist()
    torch.manual_seed(3)
    assert torch.randn(4).tolist() == a
    assert torch.rand(2).tolist() == b
    assert torch.randint(0, 100, (3,)).tolist() == c
    torch.manual_seed(4)
    assert torch.randn(4).tolist() != a
    g = torch.Generator().manual_seed(3)
    assert torch.randn(4, generator=g).tolist() == a
    state = torch.get_rng_state()
    x = torch.rand(3).tolist()
    torch.set_rng_state(state)
    assert torch.rand(3).tolist() == x


# -- dtype promotion ----------------------------------------------------------

@pytest.mark.parametrize("expr,dtype", [
    ("f32 * 2.5", "float32"), ("2.5 * f32", "float32"), ("f32 + 2", "float32"), ("1.5 / f32", "float32"),
    ("f32 ** 2", "float32"), ("2 ** f32", "float32"), ("f32 - 1e-300", "float32"),
    ("i64 / i64", "float32"), ("i64 / 2", "float32"), ("1 / i64", "float32"), ("i64 * 2.5", "float32"),
    ("i64 + 2.5", "float32"), ("2.5 - i64", "float32"), ("i64 ** 0.5", "float32"), ("i64 + 2", "int64"),
    ("i64 * i64", "int64"), ("i64 ** 2", "int64"), ("i64 // 2", "int64"),
    ("f32 + f64", "float64"), ("f64 * f32", "float64"), ("i64 + f32", "float32"), ("f32 - i64", "float32"),
    ("i32 + i64", "int64"), ("b + 1", "int64"), ("b * f32", "float32"), ("b * 2.5", "float32"),
    ("f32 * torch.tensor(2.0, dtype=torch.float64)", "float32"), ("i32 + torch.tensor(3)", "int32"),
    ("f32 @ f32.reshape(3, 1)", "float32"), ("torch.where(b3, f32, 0.0)", "float32"),
    ("torch.maximum(f32, torch.tensor(0.5))", "float32"), ("f32.clamp(0.5, 1.5)", "float32"),
    ("torch.cat([f32, f64])", "float64"), ("i64.sqrt()", "float32"), ("i64.exp()", "float32"),
    ("i64.float()", "float32"), ("f32.double()", "float64"), ("f32.long()", "int64"), ("i64.sum()", "int64"),
    ("i32.sum()", "int64"), ("b.sum()", "int64"), ("f32.mean()", "float32"),
    ("f32.to(torch.float64)", "float64"), ("f32.to(dtype=torch.int64)", "int64"), ("f32.to('cpu')", "float32"),
    ("f32.type(torch.float64)", "float64"), ("f32.type_as(f64)", "float64"), ("f32.half()", "float16"),
    ("i64.abs()", "int64"), ("-i64", "int64"), ("f32 > 0", "bool"), ("i64.argmax()", "int64"),
])
def test_dtype_promotion(expr, dtype):
    env = {"torch": torch, "f32": torch.tensor([1.0, 2.0, 3.0]), "f64": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
           "i64": torch.tensor([1, 2, 3]), "i32": torch.tensor([1, 2, 3], dtype=torch.int32),
           "b": torch.tensor([True, False, True]), "b3": torch.tensor([True, False, True])}
    assert str(eval(expr, env).dtype) == dtype


def test_float32_model_step_stays_float32():
    w = torch.randn(3, 2, requires_grad=True)
    x = torch.randn(4, 3)
    loss = ((x @ w).tanh() * 0.5 + 1e-8).pow(2).mean() * 3.0 + w.norm() * 1e-4
    assert loss.dtype == torch.float32
    loss.backward()
    assert w.grad.dtype == torch.float32
    with torch.no_grad():
        w -= 0.1 * w.grad
    assert w.dtype == torch.float32


def test_set_default_dtype():
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.tensor(1.5).dtype == torch.float64
        assert torch.zeros(2).dtype == torch.float64
        assert (torch.tensor([1, 2]) / 2).dtype == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.get_default_dtype() == torch.float32


# -- metadata and conversion --------------------------------------------------

def test_size_shape_numel_ndim():
    x = torch.ones(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.shape == (2, 3, 4)
    assert x.size(1) == 3 and x.size(-1) == 4 and x.shape[0] == 2
    assert x.numel() == 24 and x.shape.numel() == 24
    assert x.ndim == 3 and x.dim() == 3
    assert isinstance(x.shape, tuple) and isinstance(x.shape, torch.Size)
    assert len(x) == 2 and [t.shape for t in x] == [(3, 4), (3, 4)]
    s = torch.tensor(1.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1
    with pytest.raises(TypeError):
        len(s)


def test_item_tolist_numpy():
    assert torch.tensor(2.5).item() == 2.5
    assert isinstance(torch.tensor(3).item(), int)
    assert isinstance(torch.tensor(True).item(), bool)
    assert torch.tensor([[1.5]]).item() == 1.5
    assert torch.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert torch.tensor(2.0).tolist() == 2.0
    x = torch.ones(2)
    arr = x.numpy()
    assert isinstance(arr, np.ndarray)
    arr[0] = 5
    assert x[0].item() == 5  # shares memory
    assert isinstance(torch.ones(3).sum().numpy(), np.ndarray)  # 0-d results are arrays too
    y = torch.ones(2, requires_grad=True)
    assert isinstance(y.detach().numpy(), np.ndarray)
    assert float(torch.tensor(2.5)) == 2.5 and int(torch.tensor(3)) == 3
    assert np.asarray(torch.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_zero_dim_results_support_inplace():
    s = torch.ones(3).sum()
    s.add_(1)
    assert s.item() == 4.0
    x = torch.zeros(3)
    x[1].add_(5)   # x[1] is a view, as in PyTorch
    x[0].fill_(2)
    assert x.tolist() == [2.0, 5.0, 0.0]


def test_clone_is_differentiable_copy():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.requires_grad and not c.is_leaf
    (c * c).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    d = torch.ones(2)
    e = d.clone()
    e[0] = 3
    assert d.tolist() == [1.0, 1.0]


def test_transpose_properties():
    x = torch.arange(6.0).reshape(2, 3)
    assert x.T.shape == (3, 2) and x.T.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert x.t().tolist() == x.T.tolist()
    b = torch.ones(4, 2, 3)
    assert b.mT.shape == (4, 3, 2)
    assert not x.T.is_contiguous() and x.T.contiguous().is_contiguous()


def test_to_and_casts():
    x = torch.tensor([1.5, 2.5], requires_grad=True)
    assert x.to(torch.float32) is x
    assert x.float() is x
    assert x.double().dtype == torch.float64 and x.double().requires_grad
    assert x.long().tolist() == [1, 2] and not x.long().requires_grad
    assert x.to("cpu", torch.float64).dtype == torch.float64
    assert x.to(torch.ones(1, dtype=torch.float64)).dtype == torch.float64
    assert x.int().dtype == torch.int32 and x.bool().dtype == torch.bool
    assert x.cpu() is x and x.device == "cpu"


def test_requires_grad_and_is_leaf():
    x = torch.ones(2)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x
    assert x.requires_grad and x.is_leaf
    x.requires_grad = False
    assert not x.requires_grad
    x.requires_grad = True
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    z = torch.ones(2) * 2  # ops on tensors not requiring grad give leaves
    assert z.is_leaf and z.grad_fn is None


def test_grad_fn_next_functions_accumulate_grad_variable():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0], requires_grad=True)
    y = (a * b).sum()
    assert y.grad_fn.name() == "SumBackward0"
    ((mul, idx),) = y.grad_fn.next_functions
    assert idx == 0 and mul.name() == "MulBackward0"
    (acc_a, _), (acc_b, _) = mul.next_functions
    assert isinstance(acc_a, AccumulateGrad) and acc_a.variable is a
    assert isinstance(acc_b, AccumulateGrad) and acc_b.variable is b
    assert acc_a.next_functions == ()
    assert "grad_fn=<SumBackward0>" in repr(y)


def test_repr():
    assert repr(torch.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(torch.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(torch.tensor(1.0, requires_grad=True)) == "tensor(1., requires_grad=True)"
    assert "dtype=float64" in repr(torch.ones(2, dtype=torch.float64))


def test_detach_and_data_share_memory():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    d[0] = 9
    assert x[0].item() == 9
    x.data[1] = 8
    assert x[1].item() == 8
    x.data = torch.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad


def test_grad_attribute_assignment():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and not x.grad.requires_grad
    x.grad = None
    assert x.grad is None
    x.grad = torch.zeros(2)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_comparison_and_logical_ops():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert torch.equal(x, x.clone()) and torch.allclose(x, x + 1e-9)
    assert torch.where(x > 1.5)[0].tolist() == [1, 2]


def test_misc_methods():
    x = torch.arange(6.0).reshape(2, 3)
    assert x.argmax().item() == 5 and x.argmax(1).tolist() == [2, 2]
    assert x.sort(descending=True).values[0].tolist() == [2.0, 1.0, 0.0]
    assert x.topk(2, dim=1).indices.tolist() == [[2, 1], [2, 1]]
    assert x.unbind(0)[1].tolist() == [3.0, 4.0, 5.0]
    assert x.new_zeros(2).dtype == torch.float32 and x.new_ones((1, 2)).shape == (1, 2)
    assert x.expand_as(torch.ones(2, 2, 3)).shape == (2, 2, 3)
    assert x.view_as(torch.ones(3, 2)).shape == (3, 2)
    assert x.is_floating_point() and not torch.tensor([1]).is_floating_point()
    assert x.element_size() == 4


def test_legacy_tensor_constructors():
    assert torch.Tensor([1, 2]).dtype == torch.float32  # torch.Tensor is the float constructor
    assert torch.Tensor(2, 3).shape == (2, 3)
    assert torch.Tensor().shape == (0,)
    assert torch.LongTensor([1, 2]).dtype == torch.int64
    assert torch.FloatTensor([1, 2]).dtype == torch.float32
    assert torch.DoubleTensor(3).dtype == torch.float64
    assert isinstance(torch.ones(2), torch.FloatTensor) and not isinstance(torch.ones(2), torch.LongTensor)
    assert isinstance(torch.ones(2), torch.Tensor)
