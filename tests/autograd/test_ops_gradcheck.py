"""Every differentiable op: gradcheck (and gradgradcheck) in float64 against finite differences.

Inputs are small seeded float64 leaves; cases cover broadcasting, 0-d tensors
and non-contiguous views (transposed / strided inputs).
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd.ops import _unary as U
from _autograd_testutil import check, leaf, pos

A = autograd

# (id, fn, inputs factory, gradgrad?)
CASES = []


def case(name, fn, make, gradgrad=True):
    CASES.append(pytest.param(fn, make, gradgrad, id=name))


# -- arithmetic ---------------------------------------------------------------
case("add_bcast", lambda a, b: a + b, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1)))
case("sub_bcast", lambda a, b: a - b, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1)))
case("mul_bcast", lambda a, b: a * b, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1)))
case("div_bcast", lambda a, b: a / b, lambda: (leaf(3, 1, 4), pos(2, 4, seed=1)))
case("pow_tt_bcast", lambda a, b: a ** b, lambda: (pos(3, 1, 4), leaf(2, 4, seed=1)))
case("add_alpha", lambda a, b: A.add(a, b, alpha=2.5), lambda: (leaf(2, 3), leaf(3, seed=1)))
case("sub_alpha", lambda a, b: a.sub(b, alpha=-1.5), lambda: (leaf(2, 3), leaf(3, seed=1)))
case("add_0d", lambda a, b: a + b, lambda: (leaf(), leaf(2, 3, seed=1)))
case("mul_0d_0d", lambda a, b: a * b, lambda: (leaf(), leaf(seed=1)))
case("div_0d_by_tensor", lambda a, b: a / b, lambda: (leaf(), pos(3, seed=1)))
case("pow_0d_exp", lambda a, b: a ** b, lambda: (pos(3), leaf(seed=1)))
case("add_scalar", lambda x: x + 2, lambda: (leaf(2, 3),))
case("radd_scalar", lambda x: 2 + x, lambda: (leaf(2, 3),))
case("sub_scalar", lambda x: x - 2, lambda: (leaf(2, 3),))
case("rsub_scalar", lambda x: 3 - x, lambda: (leaf(2, 3),))
case("mul_scalar", lambda x: x * 2.5, lambda: (leaf(2, 3),))
case("rmul_scalar", lambda x: 2.5 * x, lambda: (leaf(2, 3),))
case("div_scalar", lambda x: x / 3, lambda: (leaf(2, 3),))
case("rdiv_scalar", lambda x: 1 / x, lambda: (pos(2, 3),))
case("rdiv_scalar_neg", lambda x: -2.5 / x, lambda: (leaf(2, 3, away=0.3),))
case("pow_2", lambda x: x ** 2, lambda: (leaf(2, 3),))
case("pow_3", lambda x: x ** 3, lambda: (leaf(2, 3),))
case("pow_half", lambda x: x ** 0.5, lambda: (pos(2, 3),))
case("pow_neg", lambda x: x ** -1.5, lambda: (pos(2, 3),))
case("pow_0_1", lambda x: (x ** 0) * 1.0 + x ** 1, lambda: (leaf(2, 3),))
case("rpow_scalar", lambda x: 2 ** x, lambda: (leaf(2, 3),))
case("rpow_float", lambda x: 0.5 ** x, lambda: (leaf(2, 3),))
case("neg", lambda x: -x, lambda: (leaf(2, 3),))
case("ndarray_rhs", lambda x: x * np.arange(3.0) + np.ones(3) - np.full(3, 2.0) / 1.5,
     lambda: (leaf(2, 3),))

# -- unary / activations ------------------------------------------------------
case("abs", A.abs, lambda: (leaf(2, 3, away=0.1),))
case("exp", A.exp, lambda: (leaf(2, 3),))
case("log", A.log, lambda: (pos(2, 3),))
case("log1p", A.log1p, lambda: (leaf(2, 3, low=-0.5, high=2.0),))
case("sqrt", A.sqrt, lambda: (pos(2, 3),))
case("rsqrt", A.rsqrt, lambda: (pos(2, 3),))
case("sin", A.sin, lambda: (leaf(2, 3, low=-3, high=3),))
case("cos", A.cos, lambda: (leaf(2, 3, low=-3, high=3),))
case("tanh", A.tanh, lambda: (leaf(2, 3, low=-2, high=2),))
case("sigmoid", A.sigmoid, lambda: (leaf(2, 3, low=-4, high=4),))
case("relu", A.relu, lambda: (leaf(2, 3, away=0.1),))
case("leaky_relu", lambda x: A.leaky_relu(x, 0.1), lambda: (leaf(2, 3, away=0.1),))
case("gelu", A.gelu, lambda: (leaf(2, 3, low=-3, high=3),))
case("gelu_tanh", lambda x: A.gelu(x, approximate="tanh"), lambda: (leaf(2, 3, low=-3, high=3),))
case("softplus", U.softplus, lambda: (leaf(2, 3, low=-3, high=3),))
case("softplus_beta_threshold", lambda x: U.softplus(x, beta=2.0, threshold=1.0),
     lambda: (A.tensor([[-2.0, -0.3, 0.2], [0.45, 0.7, 1.5]], dtype=A.float64, requires_grad=True),))
case("elu", lambda x: U.elu(x, alpha=1.5), lambda: (leaf(2, 3, low=-2, high=2, away=0.1),))
case("silu", U.silu, lambda: (leaf(2, 3, low=-3, high=3),))
case("deg2rad", A.deg2rad, lambda: (leaf(2, 3),))
case("clamp_min", lambda x: A.clamp(x, min=-0.2), lambda: (A.tensor([-0.9, -0.5, 0.1, 0.6], dtype=A.float64,
                                                                    requires_grad=True),))
case("clamp_max", lambda x: x.clamp(max=0.3), lambda: (A.tensor([-0.9, -0.5, 0.1, 0.6], dtype=A.float64,
                                                                requires_grad=True),))
case("clamp_both", lambda x: A.clip(x, -0.4, 0.3), lambda: (A.tensor([-0.9, -0.1, 0.1, 0.6], dtype=A.float64,
                                                                    requires_grad=True),))
case("clamp_tensor_bounds", lambda x, lo, hi: A.clamp(x, lo, hi),
     lambda: (A.tensor([[-0.9, -0.1, 0.1, 0.6]], dtype=A.float64, requires_grad=True),
              A.tensor([-0.5, 0.0, 0.2, -1.0], dtype=A.float64, requires_grad=True),
              A.tensor([[0.5], [0.4]], dtype=A.float64, requires_grad=True)))
case("maximum_bcast", A.maximum, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1)))
case("minimum_bcast", A.minimum, lambda: (leaf(3, 1, 4), leaf(2, 4, seed=1)))
case("where_bcast", lambda a, b: A.where(A.tensor([[True, False, True, False]]), a, b),
     lambda: (leaf(3, 4), leaf(3, 1, seed=1)))
case("where_scalar_other", lambda a: A.where(a > 0, a, 0.5), lambda: (leaf(2, 3, away=0.1),))

# -- reductions ---------------------------------------------------------------
case("sum_all", lambda x: x.sum(), lambda: (leaf(2, 3),))
case("sum_dim", lambda x: x.sum(1), lambda: (leaf(2, 3, 2),))
case("sum_dims_keepdim", lambda x: A.sum(x, (0, 2), keepdim=True), lambda: (leaf(2, 3, 2),))
case("sum_0d", lambda x: x.sum(), lambda: (leaf(),))
case("mean_all", lambda x: x.mean(), lambda: (leaf(2, 3),))
case("mean_dim", lambda x: x.mean(-1, keepdim=True), lambda: (leaf(2, 3, 2),))
case("prod_all", lambda x: x.prod(), lambda: (leaf(2, 3, away=0.3),))
case("prod_dim", lambda x: x.prod(1), lambda: (leaf(2, 3, away=0.3),))
case("prod_one_zero", lambda x: x.prod(1),
     lambda: (A.tensor([[0.0, 2.0, 3.0], [1.5, -0.5, 2.0]], dtype=A.float64, requires_grad=True),))
case("prod_two_zeros", lambda x: x.prod(),
     lambda: (A.tensor([[0.0, 2.0], [0.0, 3.0]], dtype=A.float64, requires_grad=True),))
case("prod_zero_keepdim", lambda x: x.prod(0, keepdim=True),
     lambda: (A.tensor([[0.0, 2.0], [1.5, 0.0], [2.0, 3.0]], dtype=A.float64, requires_grad=True),))
case("var_unbiased", lambda x: x.var(), lambda: (leaf(2, 3),))
case("var_corr0_dim", lambda x: x.var(1, correction=0), lambda: (leaf(2, 3),))
case("var_unbiased_false_keepdim", lambda x: A.var(x, 0, unbiased=False, keepdim=True), lambda: (leaf(3, 2),))
case("std_corr1", lambda x: x.std(1), lambda: (leaf(2, 4),))
case("std_corr0", lambda x: A.std(x, correction=0), lambda: (leaf(2, 4),))
case("amax_all", lambda x: x.amax(), lambda: (leaf(2, 3),))
case("amax_dim", lambda x: A.amax(x, 1), lambda: (leaf(2, 3),))
case("amin_dims_keepdim", lambda x: x.amin((0, 1), keepdim=True), lambda: (leaf(2, 3, 2),))
case("max_all", lambda x: x.max(), lambda: (leaf(2, 3),))
case("min_all", lambda x: A.min(x), lambda: (leaf(2, 3),))
case("max_dim_values", lambda x: x.max(1).values, lambda: (leaf(2, 3),))
case("max_dim_keepdim", lambda x: x.max(dim=0, keepdim=True)[0], lambda: (leaf(2, 3),))
case("min_dim_values", lambda x: A.min(x, -1).values, lambda: (leaf(2, 3, 2),))
case("max_ties_all", lambda x: x.max(),
     lambda: (A.tensor([1.0, 3.0, 3.0, 2.0], dtype=A.float64, requires_grad=True),), gradgrad=False)
case("amax_ties_dim", lambda x: x.amax(1),
     lambda: (A.tensor([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]], dtype=A.float64, requires_grad=True),),
     gradgrad=False)  # second derivative is undefined at a tie
case("logsumexp", lambda x: A.logsumexp(x, 1), lambda: (leaf(2, 3, low=-3, high=3),))
case("logsumexp_keepdim", lambda x: x.logsumexp((0, 1), keepdim=True), lambda: (leaf(2, 3, low=-3, high=3),))
case("softmax", lambda x: A.softmax(x, 1), lambda: (leaf(2, 3, low=-2, high=2),))
case("softmax_dim0", lambda x: x.softmax(0), lambda: (leaf(3, 2),))
case("log_softmax", lambda x: A.log_softmax(x, -1), lambda: (leaf(2, 3, low=-2, high=2),))
case("cumsum", lambda x: A.cumsum(x, 1), lambda: (leaf(2, 4),))
case("cumsum_dim0", lambda x: x.cumsum(0), lambda: (leaf(3, 2),))
case("norm_2", lambda x: x.norm(), lambda: (leaf(2, 3),))
case("norm_1", lambda x: A.norm(x, p=1), lambda: (leaf(2, 3, away=0.1),))
case("norm_inf", lambda x: x.norm(p=float("inf")), lambda: (leaf(2, 3),))
case("norm_2_dim", lambda x: x.norm(dim=1), lambda: (leaf(2, 3),))
case("norm_1_dim_keepdim", lambda x: x.norm(p=1, dim=0, keepdim=True), lambda: (leaf(2, 3, away=0.1),))
case("norm_3", lambda x: x.norm(p=3), lambda: (leaf(2, 3, away=0.1),))

# -- shape ops ----------------------------------------------------------------
case("reshape", lambda x: x.reshape(3, 2) * A.arange(3.0).double().reshape(3, 1), lambda: (leaf(2, 3),))
case("view_minus1", lambda x: x.view(-1, 2), lambda: (leaf(2, 3),))
case("flatten", lambda x: x.flatten(1), lambda: (leaf(2, 3, 2),))
case("flatten_0d", lambda x: A.flatten(x), lambda: (leaf(),))
case("squeeze", lambda x: x.squeeze(), lambda: (leaf(2, 1, 3),))
case("squeeze_dim", lambda x: x.squeeze(1), lambda: (leaf(2, 1, 3),))
case("unsqueeze", lambda x: x.unsqueeze(-1), lambda: (leaf(2, 3),))
case("permute", lambda x: x.permute(2, 0, 1), lambda: (leaf(2, 3, 2),))
case("transpose", lambda x: x.transpose(0, -1), lambda: (leaf(2, 3, 2),))
case("expand", lambda x: x.expand(2, 3, 4), lambda: (leaf(3, 1),))
case("expand_minus1", lambda x: x.expand(2, -1, 4), lambda: (leaf(3, 1),))
case("broadcast_to", lambda x: A.broadcast_to(x, (2, 3)), lambda: (leaf(3),))
case("repeat", lambda x: x.repeat(2, 1, 3), lambda: (leaf(2, 2),))
case("cat", lambda a, b: A.cat([a, b], 1), lambda: (leaf(2, 3), leaf(2, 1, seed=1)))
case("cat_neg_dim_3", lambda a, b, c: A.cat((a, b, c), -1), lambda: (leaf(2, 1), leaf(2, 2, seed=1), leaf(2, 3, seed=2)))
case("stack", lambda a, b: A.stack([a, b], 1), lambda: (leaf(2, 3), leaf(2, 3, seed=1)))
case("split_int", lambda x: x.split(2, 1), lambda: (leaf(2, 5),))
case("split_sizes", lambda x: A.split(x, [1, 3], 0), lambda: (leaf(4, 2),))
case("chunk", lambda x: x.chunk(3, 1), lambda: (leaf(2, 5),))
case("flip", lambda x: A.flip(x, (0, 2)), lambda: (leaf(2, 3, 2),))
case("flip_varargs", lambda x: x.flip(-1), lambda: (leaf(2, 3, 2),))
case("roll_dims", lambda x: x.roll((1, -2), (0, 1)), lambda: (leaf(3, 4),))
case("roll_flat", lambda x: A.roll(x, 2), lambda: (leaf(3, 2),))
case("pad_constant", lambda x: A.ops._shape.pad(x, (1, 2, 0, 1), value=0.5), lambda: (leaf(2, 3),))
case("pad_constant_negative", lambda x: A.ops._shape.pad(x, (-1, 1)), lambda: (leaf(2, 3),))
case("pad_reflect", lambda x: A.ops._shape.pad(x, (2, 1, 1, 2), mode="reflect"), lambda: (leaf(1, 3, 4),))
case("pad_replicate", lambda x: A.ops._shape.pad(x, (2, 3, 1, 0), mode="replicate"), lambda: (leaf(1, 3, 4),))
case("pad_circular", lambda x: A.ops._shape.pad(x, (1, 2, 2, 1), mode="circular"), lambda: (leaf(1, 3, 4),))

# -- indexing -----------------------------------------------------------------
case("index_int", lambda x: x[1], lambda: (leaf(3, 4),))
case("index_neg_int_pair", lambda x: x[-1, 2], lambda: (leaf(3, 4),))
case("index_slice_step", lambda x: x[::2, 1::2], lambda: (leaf(3, 4),))
case("index_neg_step_none", lambda x: x[None, ::-1, 3:0:-2], lambda: (leaf(3, 4),))
case("index_ellipsis", lambda x: x[..., 0], lambda: (leaf(2, 3, 4),))
case("index_int_array", lambda x: x[[2, 0]], lambda: (leaf(3, 4),))
case("index_int_array_dups", lambda x: x[A.tensor([0, 2, 0, 0])], lambda: (leaf(3, 4),))
case("index_2_arrays_dups", lambda x: x[[0, 1, 0], [1, 1, 1]], lambda: (leaf(3, 4),))
case("index_array_and_slice", lambda x: x[:, [3, 3, 0]], lambda: (leaf(3, 4),))
case("index_2d_int_array", lambda x: x[A.tensor([[0, 1], [1, 1]])], lambda: (leaf(3, 2),))
case("index_bool_mask", lambda x: x[x.detach() > 0], lambda: (leaf(3, 4),))
case("index_bool_rows", lambda x: x[A.tensor([True, False, True])], lambda: (leaf(3, 4),))
case("masked_fill", lambda x: x.masked_fill(A.tensor([True, False, True]), 0.5), lambda: (leaf(2, 3),))
case("masked_select", lambda x: x.masked_select(A.tensor([True, False, True])), lambda: (leaf(2, 3),))
case("gather", lambda x: x.gather(1, A.tensor([[0, 0, 2], [1, 2, 1]])), lambda: (leaf(2, 3),))
case("gather_dim0", lambda x: A.gather(x, 0, A.tensor([[1, 0, 1]])), lambda: (leaf(2, 3),))
case("index_select", lambda x: x.index_select(1, A.tensor([2, 0, 2])), lambda: (leaf(2, 3),))
case("index_select_dim0", lambda x: A.index_select(x, 0, A.tensor([1])), lambda: (leaf(2, 3),))
case("scatter_add", lambda x, s: x.scatter_add(1, A.tensor([[0, 0], [2, 1]]), s),
     lambda: (leaf(2, 3), leaf(2, 2, seed=1)))


def _setitem_slice(x, v):
    y = x * 1
    y[0] = v
    return y * 2


def _setitem_mask(x, v):
    y = x.sin()  # (exp would save its output, which setitem then modifies: an error as in PyTorch)
    y[y.detach() > 0.3] = v
    return y


def _setitem_index_array(x, v):
    y = x * x
    y[:, [0, 2]] = v
    return y.sum(0)


case("setitem_row", _setitem_slice, lambda: (leaf(3, 4), leaf(4, seed=1)))
case("setitem_row_bcast", _setitem_slice, lambda: (leaf(3, 4), leaf(1, seed=1)))
case("setitem_mask_scalar_tensor", _setitem_mask, lambda: (leaf(3, 4), leaf(seed=1)))
case("setitem_index_array", _setitem_index_array, lambda: (leaf(3, 4), leaf(3, 1, seed=1)))

# -- matrix products ----------------------------------------------------------
case("matmul_2d", lambda a, b: a @ b, lambda: (leaf(2, 3), leaf(3, 4, seed=1)))
case("matmul_batched_bcast", A.matmul, lambda: (leaf(2, 1, 2, 3), leaf(3, 3, 2, seed=1)))
case("matmul_batched_by_2d", lambda a, b: a @ b, lambda: (leaf(2, 2, 3), leaf(3, 2, seed=1)))
case("matmul_vec_mat", lambda a, b: a @ b, lambda: (leaf(3), leaf(3, 4, seed=1)))
case("matmul_mat_vec", lambda a, b: a @ b, lambda: (leaf(2, 3), leaf(3, seed=1)))
case("matmul_vec_batched", lambda a, b: a @ b, lambda: (leaf(3), leaf(2, 3, 2, seed=1)))
case("matmul_batched_vec", lambda a, b: a @ b, lambda: (leaf(2, 2, 3), leaf(3, seed=1)))
case("matmul_vec_vec", lambda a, b: a @ b, lambda: (leaf(3), leaf(3, seed=1)))
case("mm", A.mm, lambda: (leaf(2, 3), leaf(3, 2, seed=1)))
case("bmm", A.bmm, lambda: (leaf(2, 2, 3), leaf(2, 3, 2, seed=1)))
case("mv", A.mv, lambda: (leaf(2, 3), leaf(3, seed=1)))
case("dot", A.dot, lambda: (leaf(4), leaf(4, seed=1)))
case("outer", A.outer, lambda: (leaf(3), leaf(2, seed=1)))
case("addmm", lambda c, a, b: A.addmm(c, a, b, beta=0.5, alpha=2.0),
     lambda: (leaf(2), leaf(3, 2, seed=1), leaf(2, 2, seed=2)))
case("einsum_matmul", lambda a, b: A.einsum("ij,jk->ik", a, b), lambda: (leaf(2, 3), leaf(3, 2, seed=1)))
case("einsum_batched", lambda a, b: A.einsum("bij,bjk->bik", a, b), lambda: (leaf(2, 2, 3), leaf(2, 3, 2, seed=1)))
case("einsum_contract_all", lambda a, b: A.einsum("ij,ij->", a, b), lambda: (leaf(2, 3), leaf(2, 3, seed=1)))
case("einsum_implicit_out", lambda a, b: A.einsum("ij,jk", a, b), lambda: (leaf(2, 3), leaf(3, 2, seed=1)))
case("einsum_sum_inside_one", lambda a, b: A.einsum("ijk,j->i", a, b), lambda: (leaf(2, 3, 2), leaf(3, seed=1)))
case("einsum_outer_three", lambda a, b, c: A.einsum("i,j,k->ijk", a, b, c),
     lambda: (leaf(2), leaf(3, seed=1), leaf(2, seed=2)))
case("einsum_ellipsis", lambda a, b: A.einsum("...ij,...jk->...ik", a, b),
     lambda: (leaf(2, 2, 3), leaf(2, 3, 2, seed=1)))
case("einsum_ellipsis_bcast", lambda a, b: A.einsum("...ij,jk->...ik", a, b),
     lambda: (leaf(2, 2, 3), leaf(3, 2, seed=1)))
case("einsum_list_operands", lambda a, b: A.einsum("ij,j->i", [a, b]), lambda: (leaf(2, 3), leaf(3, seed=1)))
case("einsum_transpose", lambda a: A.einsum("ij->ji", a), lambda: (leaf(2, 3),))
case("einsum_trace", lambda a: A.einsum("ii->", a), lambda: (leaf(3, 3),))
case("einsum_diagonal", lambda a: A.einsum("ii->i", a), lambda: (leaf(3, 3),))
case("einsum_triple_diagonal", lambda a: A.einsum("iii->i", a), lambda: (leaf(3, 3, 3),))
case("einsum_diag_then_contract", lambda a, b: A.einsum("iij,jk->ik", a, b),
     lambda: (leaf(3, 3, 2), leaf(2, 2, seed=1)))
case("einsum_split_repeat_summed", lambda a: A.einsum("iji->j", a), lambda: (leaf(3, 2, 3),))
case("einsum_repeat_in_other_operand", lambda a, b: A.einsum("ii,ij->j", a, b),
     lambda: (leaf(3, 3), leaf(3, 2, seed=1)))

# -- 0-d tensors ----------------------------------------------------------------
case("0d_unary_chain", lambda x: (x.exp() * x.sin()).sqrt(), lambda: (pos(),))
case("0d_reshape_expand", lambda x: x.reshape(1, 1).expand(2, 3) * x.unsqueeze(0), lambda: (leaf(),))
case("0d_stack_cat", lambda a, b: A.stack([a, b]) * A.cat([a.reshape(1), b.reshape(1)]), lambda: (leaf(), leaf(seed=1)))
case("0d_reductions", lambda x: x.sum(0) + x.mean() + x.amax() + x.prod() + A.logsumexp(x, 0), lambda: (leaf(),))
case("0d_softmax", lambda x: x.softmax(0) + x.log_softmax(-1) + x.cumsum(0), lambda: (leaf(),))
case("0d_where_max", lambda a, b: A.where(A.tensor(True), a, b) + A.maximum(a, b), lambda: (leaf(), leaf(seed=1)))
case("0d_index", lambda x: x[None] * x[...], lambda: (leaf(),))
case("0d_item_of_vector", lambda x: x[1] * x[-1], lambda: (leaf(3),))

# -- non-contiguous inputs ----------------------------------------------------
case("noncontig_t_matmul", lambda a, b: a.t() @ b, lambda: (leaf(3, 2), leaf(3, 2, seed=1)))
case("noncontig_strided_mul", lambda a, b: a[:, ::2] * b, lambda: (leaf(2, 6), leaf(2, 3, seed=1)))
case("noncontig_strided_exp_sum", lambda a: a[:, ::2].t().exp().sum(0), lambda: (leaf(2, 6),))
case("noncontig_leaf_ops", lambda a, b: (a * b).sum(0) + a.softmax(0)[0] + a.reshape(-1)[:4],
     lambda: (leaf(3, 4, noncontig=True), leaf(3, 4, seed=1, noncontig=True)))
case("noncontig_leaf_view", lambda a: a.view(-1) if a.is_contiguous() else a.reshape(-1),
     lambda: (leaf(3, 4, noncontig=True),))
case("noncontig_leaf_matmul", lambda a, b: a @ b, lambda: (leaf(3, 3, noncontig=True), leaf(3, 2, seed=1)))
case("noncontig_leaf_pad_reflect", lambda a: A.ops._shape.pad(a, (1, 1), mode="reflect"),
     lambda: (leaf(3, 4, noncontig=True),))
case("noncontig_cumsum_prod", lambda a: a.t().cumsum(0) + a.t().prod(0), lambda: (leaf(2, 3, away=0.3),))

# -- further PyTorch ops ---------------------------------------------------------
case("square_reciprocal", lambda x: x.square() + x.reciprocal(), lambda: (pos(2, 3),))
case("tan", A.tan, lambda: (leaf(2, 3),))
case("erf", A.erf, lambda: (leaf(2, 3, low=-2, high=2),))
case("exp2_expm1", lambda x: A.exp2(x) + A.expm1(x), lambda: (leaf(2, 3),))
case("log2_log10", lambda x: A.log2(x) + x.log10(), lambda: (pos(2, 3),))
case("celu_selu", lambda x: U.celu(x, 0.7) + U.selu(x), lambda: (leaf(2, 3, away=0.1),))
case("hard_acts", lambda x: U.hardtanh(x * 2) + U.relu6(x * 8) + U.hardswish(x * 4) + U.hardsigmoid(x * 4),
     lambda: (A.tensor([-0.9, -0.45, -0.2, 0.1, 0.35, 0.9], dtype=A.float64, requires_grad=True),))
case("logsigmoid_mish", lambda x: U.logsigmoid(x) + U.mish(x), lambda: (leaf(2, 3, low=-3, high=3),))
case("unbind", lambda x: x.unbind(1), lambda: (leaf(2, 3),))
case("narrow", lambda x: x.narrow(1, 1, 2), lambda: (leaf(2, 4),))
case("movedim", lambda x: A.movedim(x, 0, -1), lambda: (leaf(2, 3, 2),))
case("rot90", lambda x: A.rot90(x, 1, (0, 1)) * A.rot90(x, 3, (0, 1)), lambda: (leaf(3, 3),))
case("tile", lambda x: A.tile(x, (2, 1)), lambda: (leaf(2, 3),))
case("unflatten", lambda x: x.unflatten(1, (2, 3)), lambda: (leaf(2, 6),))
case("hstack_vstack", lambda a, b: A.hstack([a, b]).sum(1) + A.vstack([a, b]).sum(0)[:2],
     lambda: (leaf(2, 2), leaf(2, 2, seed=1)))
case("tensor_split", lambda x: A.tensor_split(x, 3, 1), lambda: (leaf(2, 5),))
case("var_mean", lambda x: A.var_mean(x, 1), lambda: (leaf(2, 4),))
case("std_mean", lambda x: A.std_mean(x, 0, correction=0), lambda: (leaf(3, 2),))
case("sort_values", lambda x: x.sort(1, descending=True).values, lambda: (leaf(2, 4),))
case("topk_values", lambda x: x.topk(2).values, lambda: (leaf(2, 4),))
case("sum_to_size", lambda x: x.sum_to_size(1, 3), lambda: (leaf(2, 3),))
case("expand_as_view_as", lambda x: x.expand_as(A.ones(2, 3)).view_as(A.ones(3, 2)), lambda: (leaf(3),))
case("mean_dtype", lambda x: x.mean(dtype=A.float64), lambda: (leaf(2, 3),))
case("clamp_min_max_methods", lambda x: x.clamp_min(-0.2) + x.clamp_max(0.3),
     lambda: (A.tensor([-0.9, -0.1, 0.1, 0.6], dtype=A.float64, requires_grad=True),))
case("inplace_non_leaf_chain", lambda x, w: (x * 1).mul_(w).add_(x).div_(w).sub_(1).exp_(),
     lambda: (leaf(2, 3), pos(3, seed=1)))
case("inplace_setitem_view_chain", lambda x: _inplace_view(x), lambda: (leaf(3, 4),))
case("inplace_view_of_buffer", lambda w: _inplace_view_of_buffer(w), lambda: (leaf(2, 2),))


def _inplace_view(x):
    y = x * 2
    v = y[:, 1:3]
    v.mul_(x[:, :2])          # in-place on a view changes y's graph too
    y[0] += 1.5
    y.view(-1)[::5].sub_(x[0, 0])
    return y


def _inplace_view_of_buffer(w):
    buf = A.zeros(3, 4, dtype=A.float64)  # does not require grad until a view is written
    buf[1:, :2].add_(w)
    buf.t()[3].copy_(w[0, :1].exp())
    return buf * 2


# -- composites -----------------------------------------------------------------
case("composite_mlp", lambda x, w, b: (x @ w + b).tanh().pow(2).mean(),
     lambda: (leaf(4, 3), leaf(3, 2, seed=1), leaf(2, seed=2)))
case("composite_clone_to", lambda x: x.clone().to(A.float64).contiguous() * x.t().contiguous().t(),
     lambda: (leaf(2, 3),))


@pytest.mark.parametrize("fn,make,gradgrad", CASES)
def test_gradcheck(fn, make, gradgrad):
    inputs = make()
    check(fn, *inputs, gradgrad=gradgrad)


def test_case_count():
    assert len(CASES) > 150


F64_BY_DESIGN = {"mean_dtype", "composite_clone_to", "inplace_view_of_buffer", "softplus_beta_threshold",
                 "ndarray_rhs", "reshape"}  # float64 operands on purpose (as in PyTorch)


@pytest.mark.parametrize("fn,make,gradgrad", [c for c in CASES if c.id not in F64_BY_DESIGN])
def test_float32_inputs_give_float32_outputs_and_grads(fn, make, gradgrad):
    """No float64 leaks: float32 in -> float32 out, and autograd.grad returns float32 (first and second order)."""
    inputs = [A.tensor(t.detach().numpy().astype(np.float32), requires_grad=True) for t in make()]
    outs = fn(*inputs)
    outs = [o for o in ((outs,) if isinstance(outs, A.Tensor) else outs) if o.is_floating_point()]
    assert all(o.dtype == A.float32 for o in outs)
    total = sum((o * (1 + A.arange(o.numel()).reshape(o.shape))).sum() for o in outs)
    grads = A.autograd.grad(total, inputs, create_graph=gradgrad, allow_unused=True)
    assert all(g is None or g.dtype == A.float32 for g in grads)
    if gradgrad:
        used = [(g, t) for g, t in zip(grads, inputs) if g is not None and g.requires_grad]
        if used:
            gg = A.autograd.grad(sum((g * g).sum() for g, _ in used), inputs, allow_unused=True)
            assert all(g is None or g.dtype == A.float32 for g in gg)
