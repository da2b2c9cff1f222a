"""Errors are PyTorch-like (same exception types, recognisable messages) and name what went wrong."""
from __future__ import annotations

import pytest

import autograd as torch


def test_backward_on_non_scalar_without_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_gradient_shape_mismatch():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        (x * 2).backward(torch.ones(3))


def test_backward_on_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        torch.tensor([1.0, 2.0]).sum().backward()


def test_grad_wrt_tensor_that_does_not_require_grad():
    x = torch.tensor(1.0, requires_grad=True)
    c = torch.tensor(1.0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(x * c, c)


def test_unused_input_without_allow_unused():
    x = torch.tensor(1.0, requires_grad=True)
    z = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        torch.autograd.grad(x * 2, [x, z])


@pytest.mark.parametrize("op", [
    lambda x: x.add_(1),
    lambda x: x.mul_(2),
    lambda x: x.zero_(),
    lambda x: x.__setitem__(0, 5.0),
    lambda x: x.exp_(),
    lambda x: x.clamp_(0, 1),
    lambda x: x.copy_(torch.ones(3)),
    lambda x: x.normal_(),
])
def test_inplace_on_leaf_requiring_grad(op):
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        op(x)
    with torch.no_grad():
        op(x)  # allowed under no_grad


def test_inplace_on_view_of_leaf_requiring_grad():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[1:].mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x.reshape(3, 1)[0] = 2.0


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a ** b,
    torch.maximum, torch.minimum, lambda a, b: torch.where(a > 0, a, b),
])
def test_broadcast_mismatch_names_both_shapes(op):
    a = torch.ones(2, 3, requires_grad=True)
    b = torch.ones(4)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)"):
        op(a, b)


def test_broadcast_mismatch_message_like_pytorch():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           r"at non-singleton dimension 1"):
        torch.ones(2, 3) + torch.ones(4)


def test_inplace_broadcast_to_smaller_shape():
    x = torch.ones(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.add_(torch.ones(2, 3))


def test_second_backward_without_retain_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_second_grad_without_retain_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    torch.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        torch.autograd.grad(y, x)


def test_modified_saved_tensor_version_counter():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*version 1; expected version 0"):
        z.sum().backward()


def test_modified_saved_output_version_counter():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modified_leaf_data_through_no_grad_is_caught():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with torch.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("a,b,pattern", [
    ((2, 3), (2, 3), r"2x3 and 2x3"),
    ((2, 3), (4,), r"cannot be multiplied|size mismatch"),
    ((3,), (4,), r"inconsistent tensor size"),
    ((2, 2, 3), (3, 3, 2), r"size of tensor a \(2\) must match the size of tensor b \(3\)"),
])
def test_matmul_shape_mismatch(a, b, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        torch.ones(*a) @ torch.ones(*b)


def test_cat_and_stack_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"sizes of tensors must match except in dimension 0.*\(2, 3\).*\(3, 2\)"):
        torch.cat([torch.ones(2, 3), torch.ones(3, 2)])
    with pytest.raises(RuntimeError):
        torch.cat([torch.ones(2, 3), torch.ones(3)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        torch.stack([torch.ones(2, 3), torch.ones(3, 2)])
    with pytest.raises(RuntimeError, match="non-empty"):
        torch.cat([])


def test_reshape_to_invalid_shape():
    with pytest.raises(RuntimeError, match=r"shape '\[4, 2\]' is invalid for input of size 6"):
        torch.ones(2, 3).reshape(4, 2)
    with pytest.raises(RuntimeError, match="is invalid for input of size 6"):
        torch.ones(2, 3).view(-1, 4)


@pytest.mark.parametrize("key", [2, (0, 3), ([0, 5],), (0, 0, 0), -3])
def test_indexing_out_of_range(key):
    x = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(IndexError):
        x[key]


def test_index_error_names_the_shape():
    with pytest.raises(IndexError, match=r"index 2 is out of bounds.*size 2.*\(2, 3\)"):
        torch.ones(2, 3)[2]


def test_bad_index_types():
    x = torch.ones(3)
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        x[torch.tensor([0.0, 1.0])]
    with pytest.raises(IndexError):
        x["a"]


@pytest.mark.parametrize("op", [
    lambda x: x.sum(2), lambda x: x.softmax(2), lambda x: x.transpose(0, 2), lambda x: x.unsqueeze(3),
    lambda x: x.cumsum(-3), lambda x: torch.cat([x, x], 2), lambda x: x.flatten(0, 4), lambda x: x.max(2),
    lambda x: x.gather(2, torch.zeros(2, 3, dtype=torch.int64)), lambda x: x.permute(0, 2),
])
def test_dimension_out_of_range(op):
    with pytest.raises(IndexError, match="Dimension out of range"):
        op(torch.ones(2, 3))


def test_permute_duplicate_dims():
    with pytest.raises(RuntimeError, match="duplicate dims"):
        torch.ones(2, 3).permute(0, 0)


def test_expand_mismatch():
    with pytest.raises(RuntimeError, match="expanded size of the tensor"):
        torch.ones(2, 3).expand(3, 3)


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2]).requires_grad_()


def test_numpy_on_tensor_requiring_grad():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        x.numpy()


def test_item_on_many_elements_and_bool_ambiguity():
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        torch.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(torch.ones(2))


def test_requires_grad_false_on_non_leaf():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)


def test_retain_grad_and_hook_need_requires_grad():
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        torch.ones(2).retain_grad()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_hook(lambda g: g)


def test_mean_of_integer_tensor():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        torch.tensor([1, 2]).mean()


def test_custom_function_wrong_number_of_grads():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


def test_custom_function_wrong_grad_shape():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    a = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"invalid gradient.*expected shape compatible with \[2\]"):
        Bad.apply(a).sum().backward()


def test_split_sizes_must_sum():
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        torch.ones(4).split([1, 2])


def test_cuda_not_available():
    with pytest.raises(RuntimeError, match="CUDA is not available|not available"):
        torch.ones(2).cuda()
    with pytest.raises(RuntimeError, match="not available"):
        torch.ones(2).to("cuda")
    assert not torch.cuda.is_available()


def test_tensors_are_not_picklable():
    import pickle
    with pytest.raises(TypeError, match="autograd.save"):
        pickle.dumps(torch.ones(2))
