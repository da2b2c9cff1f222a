"""Oracle cases: shape ops, indexing, scatter/gather, matrix products, errors."""
from __future__ import annotations


import numpy as np

from _oracle_base import B, CASES, F32, F64, I32, I64, U8, _iop, _setitem, arr, case  # noqa: F401


# -- shape, indexing, scatter/gather ---------------------------------------------
X34, X234 = (lambda: arr((3, 4), F64)), (lambda: arr((2, 3, 4), F64))
SHAPE_CASES = {
    "reshape": lambda L, x: x.reshape(4, -1), "view": lambda L, x: x.view(-1),
    "view_tuple": lambda L, x: x.view((2, 6)), "permute": lambda L, x: x.permute(1, 0),
    "transpose": lambda L, x: x.transpose(0, 1), "t": lambda L, x: x.t(), "T": lambda L, x: x.T,
    "mT": lambda L, x: x.mT, "squeeze": lambda L, x: x.reshape(3, 1, 4).squeeze(),
    "squeeze_dim": lambda L, x: x.reshape(3, 1, 4).squeeze(1), "squeeze_dims": lambda L, x: x.reshape(1, 3, 1, 4).squeeze((0, 2)),
    "unsqueeze": lambda L, x: x.unsqueeze(-1), "flatten": lambda L, x: x.flatten(),
    "unflatten": lambda L, x: x.unflatten(1, (2, 2)), "expand": lambda L, x: x[:, :1].expand(3, 5),
    "expand_new": lambda L, x: x.expand(2, 3, 4), "repeat": lambda L, x: x.repeat(2, 1, 2),
    "tile": lambda L, x: L.tile(x, (2,)), "flip": lambda L, x: L.flip(x, [0, 1]),
    "fliplr": lambda L, x: L.fliplr(x), "roll": lambda L, x: L.roll(x, 1, 1),
    "roll_multi": lambda L, x: L.roll(x, (1, -2), (0, 1)), "roll_flat": lambda L, x: L.roll(x, 5),
    "rot90": lambda L, x: L.rot90(x, 1, [0, 1]), "rot90_3": lambda L, x: L.rot90(x, 3, [0, 1]),
    "movedim": lambda L, x: L.movedim(x, 0, 1), "narrow": lambda L, x: x.narrow(1, 1, 2),
    "tril": lambda L, x: L.tril(x), "triu_k": lambda L, x: L.triu(x, 1), "tril_neg": lambda L, x: x.tril(-1),
    "diagonal": lambda L, x: L.diagonal(x), "diagonal_off": lambda L, x: L.diagonal(x, 1),
    "diagonal_neg": lambda L, x: x.diagonal(-1), "diag2d": lambda L, x: L.diag(x, 1),
    "diag_embed": lambda L, x: L.diag_embed(x), "diag_embed_off": lambda L, x: L.diag_embed(x, -1, 0, 2),
    "trace": lambda L, x: L.trace(x), "repeat_interleave": lambda L, x: L.repeat_interleave(x, 2, 0),
    "repeat_interleave_flat": lambda L, x: x.repeat_interleave(2),
    "repeat_interleave_t": lambda L, x: L.repeat_interleave(x, L.tensor([1, 0, 2, 1]), dim=1),
    "unfold": lambda L, x: x.unfold(1, 2, 1), "unfold_step": lambda L, x: x.unfold(1, 2, 2),
    "unfold_dim0": lambda L, x: x.unfold(0, 2, 1), "split": lambda L, x: L.split(x, 2, 1),
    "split_sizes": lambda L, x: L.split(x, [1, 3], 1), "chunk": lambda L, x: L.chunk(x, 3, 1),
    "tensor_split": lambda L, x: L.tensor_split(x, 3, 1), "unbind": lambda L, x: L.unbind(x, 1),
    "cat": lambda L, x: L.cat([x, x * 2], 1), "cat_axis": lambda L, x: L.cat([x, x], axis=0),
    "stack": lambda L, x: L.stack([x, x], 1), "hstack": lambda L, x: L.hstack([x, x]),
    "vstack": lambda L, x: L.vstack([x, x]), "dstack": lambda L, x: L.dstack([x, x]),
    "column_stack": lambda L, x: L.column_stack([x, x]),
    "index_select": lambda L, x: L.index_select(x, 1, L.tensor([0, 2, 2])),
    "gather": lambda L, x: L.gather(x, 1, L.tensor([[0, 1], [2, 2], [3, 0]])),
    "gather_small": lambda L, x: L.gather(x, 1, L.tensor([[0], [3]])),
    "gather_dim0": lambda L, x: x.gather(0, L.tensor([[0, 1, 2, 0]])),
    "take_along_dim": lambda L, x: L.take_along_dim(x, L.tensor([[0], [1], [3]]), 1),
    "take": lambda L, x: L.take(x, L.tensor([0, 5, 11])),
    "scatter_src": lambda L, x: L.scatter(x, 1, L.tensor([[0, 1], [2, 3], [1, 0]]), x[:, :2] * 3),
    "scatter_value": lambda L, x: x.scatter(0, L.tensor([[0, 1, 2, 0]]), 5.0),
    "scatter_add": lambda L, x: L.scatter_add(x, 1, L.tensor([[0, 0], [1, 1], [3, 3]]), x[:, 1:3] * 2),
    "index_add": lambda L, x: x.index_add(1, L.tensor([0, 0, 3]), x[:, :3] * 2),
    "index_fill": lambda L, x: x.index_fill(1, L.tensor([0, 2]), -1.0),
    "index_copy": lambda L, x: x.index_copy(1, L.tensor([3, 0]), x[:, :2] * 2),
    "masked_fill": lambda L, x: x.masked_fill(x > 0, 0.5), "masked_select": lambda L, x: x.masked_select(x > 0),
    "nonzero": lambda L, x: L.nonzero(x > 0), "nonzero_tuple": lambda L, x: L.nonzero(x > 0, as_tuple=True),
    "argwhere": lambda L, x: L.argwhere(x > 0), "where_1arg": lambda L, x: L.where(x > 0),
    "pad_const": lambda L, x: L.nn.functional.pad(x, (1, 2, 0, 1), value=0.5),
    "pad_crop": lambda L, x: L.nn.functional.pad(x, (-1, 2)),
    "pad_crop_empty": lambda L, x: L.nn.functional.pad(x, (-2, -2)),
    "clone": lambda L, x: x.clone(), "contiguous": lambda L, x: x.t().contiguous(),
    "to_f32": lambda L, x: x.to(L.float32), "float": lambda L, x: x.float(), "double": lambda L, x: x.double(),
    "type_as": lambda L, x: x.type_as(L.zeros(1, dtype=L.float16)),
    "new_zeros": lambda L, x: x.new_zeros(2, 3), "new_full": lambda L, x: x.new_full((2,), 3.0),
    "zeros_like": lambda L, x: L.zeros_like(x), "ones_like_dtype": lambda L, x: L.ones_like(x, dtype=L.int32),
    "full_like": lambda L, x: L.full_like(x, 7), "empty_like_shape": lambda L, x: L.empty_like(x).shape,
    "flatten_range": lambda L, x: x.reshape(2, 2, 3).flatten(1),
    "sum_to_size": lambda L, x: x.sum_to_size(1, 4), "expand_as": lambda L, x: x[:1].expand_as(x),
    "outer": lambda L, x: L.outer(x[0], x[1]), "kron": lambda L, x: L.kron(x[:2, :2], x[:2, :3]),
    "cross": lambda L, x: L.cross(x[:, :3], x[:, 1:], dim=1), "cdist": lambda L, x: L.cdist(x, x[:2]),
    "tensordot": lambda L, x: L.tensordot(x, x.t(), dims=1), "inner": lambda L, x: L.inner(x, x),
    "addcmul": lambda L, x: L.addcmul(x, x, x, value=0.5), "addcdiv": lambda L, x: L.addcdiv(x, x, x + 3, value=0.5),
    "diff": lambda L, x: L.diff(x, dim=1), "cumulative_trapezoid": lambda L, x: L.trapezoid(x, dim=1),
    "rad": lambda L, x: L.deg2rad(x), "square_": lambda L, x: x.square(),
    "triu_indices": lambda L, x: L.triu_indices(3, 3), "tril_indices": lambda L, x: L.tril_indices(3, 4, -1),
    "block_diag": lambda L, x: L.block_diag(x[:2, :2], x[:1]), "atleast_2d": lambda L, x: L.atleast_2d(x[0]),
    "flatten_0d": lambda L, x: x[0, 0].flatten(), "swapaxes": lambda L, x: L.swapaxes(x, 0, 1),
    "F.one_hot": lambda L, x: L.nn.functional.one_hot(L.tensor([0, 2, 1]), 4),
}
for _n, _f in SHAPE_CASES.items():
    case(_n, _f, arr((3, 4), F64))
for _n in ("scatter_reduce",):
    for _r in ("sum", "prod", "mean", "amax", "amin"):
        for _inc in (True, False):
            case(f"scatter_reduce_{_r}_{_inc}",
                 (lambda r, inc: lambda L, x, s: L.scatter_reduce(x, 0, L.tensor([0, 1, 0, 1, 2, 0]), s, r, include_self=inc))(_r, _inc),
                 arr((4,), F64, 0.5, 2), arr((6,), F64, 0.5, 2))
        case(f"scatter_reduce_{_r}_int", (lambda r: lambda L, x, s: x.scatter_reduce(0, L.tensor([0, 0, 1]), s, r))(_r),
             np.array([1, 2, 3, 4]), np.array([5, 6, 7]))
case("scatter_reduce_2d", lambda L, x, s: L.scatter_reduce(x, 1, L.tensor([[0, 0], [1, 2]]), s, "amax"),
     arr((2, 3), F64), arr((2, 2), F64))
case("scatter_reduce_ties", lambda L, x, s: L.scatter_reduce(x, 0, L.tensor([0, 0]), s, "amax"),
     np.array([1.0, 2.0]), np.array([1.0, 1.0]))
case("scatter_add_method_", lambda L, x, s: x.clone().scatter_add_(0, L.tensor([0, 0, 1]), s), arr((3,), F64), arr((3,), F64))
case("scatter_reduce_kw", lambda L, x, s: x.scatter(0, L.tensor([0, 0, 1]), s, reduce="add"), arr((3,), F64), arr((3,), F64))
case("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), arr((3,), F64), arr((4,), F64))
case("meshgrid_xy", lambda L, a, b: L.meshgrid(a, b, indexing="xy"), arr((3,), F64), arr((4,), F64))
case("meshgrid_3", lambda L, a, b, c: L.meshgrid([a, b, c], indexing="ij"), arr((2,), F64), arr((3,), F64), arr((2,), F64))
case("diag_1d", lambda L, x: L.diag(x), arr((3,), F64))
case("diag_1d_off", lambda L, x: L.diag(x, -2), arr((3,), F64))
case("diagflat", lambda L, x: L.diagflat(x), arr((2, 2), F64))
case("diag_embed_3d", lambda L, x: L.diag_embed(x, 1), arr((2, 3), F64))
case("diagonal_3d", lambda L, x: L.diagonal(x, 0, 1, 2), arr((2, 3, 4), F64))
case("diagonal_3d_02", lambda L, x: L.diagonal(x, 1, 2, 0), arr((2, 3, 4), F64))
case("tril_batched", lambda L, x: L.tril(x, 1), arr((2, 3, 4), F64))
case("unfold_3d", lambda L, x: x.unfold(-1, 3, 2), arr((2, 3, 7), F64))
case("unfold_0d", lambda L, x: x.unfold(0, 1, 1), arr((), F64))
case("view_dtype_int32", lambda L, x: x.view(L.int32), arr((2, 4), F32))
case("view_dtype_same", lambda L, x: x.view(L.int64).view(L.float64), arr((3,), F64))
case("view_dtype_u8", lambda L, x: x.view(L.uint8), arr((2, 2), F32))
case("repeat_interleave_counts", lambda L, r: L.repeat_interleave(r), np.array([2, 0, 1]))
case("pad_reflect", lambda L, x: L.nn.functional.pad(x, (2, 1), mode="reflect"), arr((1, 2, 5), F64))
case("pad_replicate", lambda L, x: L.nn.functional.pad(x, (2, 1, 1, 0), mode="replicate"), arr((1, 2, 3, 5), F64))
case("pad_circular", lambda L, x: L.nn.functional.pad(x, (2, 1), mode="circular"), arr((1, 2, 5), F64))
case("pad_circular_neg", lambda L, x: L.nn.functional.pad(x, (-1, 2), mode="circular"), arr((1, 2, 5), F64))
case("pad_circular_neg2", lambda L, x: L.nn.functional.pad(x, (2, -1), mode="circular"), arr((1, 2, 5), F64))
case("pad_reflect_neg", lambda L, x: L.nn.functional.pad(x, (-1, 2), mode="reflect"), arr((1, 2, 5), F64))
case("pad_replicate_neg", lambda L, x: L.nn.functional.pad(x, (-2, 1), mode="replicate"), arr((1, 2, 5), F64))
case("roll_empty", lambda L, x: L.roll(x, 1), arr((0,), F64))
case("roll_empty_dim", lambda L, x: L.roll(x, 2, 1), arr((2, 0), F64))
case("sum_empty", lambda L, x: x.sum(1), arr((2, 0), F64))
case("cat_empty", lambda L, x, y: L.cat([x, y], 0), arr((0, 3), F64), arr((2, 3), F64))

IDX = {
    "int": lambda L, x: x[1], "neg_int": lambda L, x: x[-1, 2], "slice": lambda L, x: x[:, 1:3],
    "step": lambda L, x: x[..., ::2], "none": lambda L, x: x[None, :, None, 0],
    "ellipsis": lambda L, x: x[..., 1], "list": lambda L, x: x[[0, 1, 1]],
    "tensor": lambda L, x: x[L.tensor([1, 0])], "bool": lambda L, x: x[x > 0],
    "bool_row": lambda L, x: x[L.tensor([True, False])], "two_lists": lambda L, x: x[[0, 1], [2, 0]],
    "int_slice_tensor": lambda L, x: x[0, :, L.tensor([0, 1])],
    "int_slice_list": lambda L, x: x[1, :, [3, 1, 1]], "slice_int_tensor": lambda L, x: x[:, 0, L.tensor([0, 2])],
    "tensor_slice_int": lambda L, x: x[L.tensor([1, 0]), :, 2], "range": lambda L, x: x[:, range(2)],
    "tuple_inside": lambda L, x: x[:, (0, 2)], "range_step": lambda L, x: x[range(0, 2, 1), 1],
    "adv_sep": lambda L, x: x[[0, 1], :, [1, 2]], "adv_2d": lambda L, x: x[L.tensor([[0, 1], [1, 1]])],
    "tensor_0d": lambda L, x: x[L.tensor(1)], "tensor_0d_mix": lambda L, x: x[L.tensor(0), :, [1, 2]],
    "int_none_slice_list": lambda L, x: x[0, None, :, [1, 2]], "bool_int": lambda L, x: x[0, L.tensor([True, False, True]), 1:],
    "empty_list": lambda L, x: x[[]], "ell_int_list": lambda L, x: x[..., 0, [1, 2]],
    "dup_grad": lambda L, x: x[[0, 0, 1], 1, [2, 2, 3]],
}
for _n, _f in IDX.items():
    case(f"index_{_n}", _f, arr((2, 3, 4), F64))
case("setitem_mixed", lambda L, x: _setitem(L, x, (0, slice(None), L.tensor([0, 1])), L.ones(3, 2, dtype=L.float64) * 5), arr((2, 3, 4), F64))
case("setitem_range", lambda L, x: _setitem(L, x, (slice(None), range(2)), 0.0), arr((3, 4), F64))
case("setitem_bool", lambda L, x: _setitem(L, x, x > 0, 1.0), arr((3, 4), F64))




# -- matrix products --------------------------------------------------------------
case("matmul_2d", lambda L, a, b: a @ b, arr((3, 4), F64), arr((4, 2), F64))
case("matmul_batched_bcast", lambda L, a, b: L.matmul(a, b), arr((2, 3, 4), F64), arr((4, 5), F64))
case("matmul_vec", lambda L, a, b: L.matmul(a, b), arr((3, 4), F64), arr((4,), F64))
case("matmul_vec_mat", lambda L, a, b: L.matmul(a, b), arr((4,), F64), arr((2, 4, 3), F64))
case("matmul_1d_1d", lambda L, a, b: a @ b, arr((4,), F64), arr((4,), F64))
case("mm", lambda L, a, b: L.mm(a, b), arr((3, 4), F32), arr((4, 2), F32))
case("bmm", lambda L, a, b: L.bmm(a, b), arr((2, 3, 4), F64), arr((2, 4, 2), F64))
case("mv", lambda L, a, b: L.mv(a, b), arr((3, 4), F64), arr((4,), F64))
case("dot", lambda L, a, b: L.dot(a, b), arr((4,), F64), arr((4,), F64))
case("addmm", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2), arr((3, 2), F64), arr((3, 4), F64), arr((4, 2), F64))
case("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b), arr((2, 3, 2), F64), arr((2, 3, 4), F64), arr((2, 4, 2), F64))
case("einsum_implicit_ell", lambda L, a, b: L.einsum("...id,...jd", a, b), arr((5, 2, 3, 4), F64), arr((5, 2, 6, 4), F64))
case("einsum_ell_out", lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), arr((2, 3, 4), F64), arr((2, 4, 5), F64))
case("einsum_ell_bcast", lambda L, a, b: L.einsum("...ij,jk", a, b), arr((2, 3, 4), F64), arr((4, 5), F64))
case("einsum_trace", lambda L, a: L.einsum("ii", a), arr((3, 3), F64))
case("einsum_diag", lambda L, a: L.einsum("ii->i", a), arr((3, 3), F64))
case("einsum_outer", lambda L, a, b: L.einsum("i,j->ij", a, b), arr((3,), F64), arr((4,), F64))
case("einsum_implicit", lambda L, a, b: L.einsum("ij,jk", a, b), arr((3, 4), F64), arr((4, 2), F64))
case("einsum_list", lambda L, a, b: L.einsum("bij,bjk->bik", [a, b]), arr((2, 3, 4), F64), arr((2, 4, 2), F64))
case("einsum_sum", lambda L, a: L.einsum("ijk->", a), arr((2, 3, 4), F64))
case("einsum_ell_middle", lambda L, a: L.einsum("i...j->j...i", a), arr((2, 3, 4, 5), F64))
case("linalg_norm", lambda L, a: L.linalg.norm(a), arr((3, 4), F64))
case("linalg_vector_norm", lambda L, a: L.linalg.vector_norm(a, 3, dim=1), arr((3, 4), F64, away=0.1))
case("linalg_inv", lambda L, a: L.linalg.inv(a + 3 * L.eye(3, dtype=a.dtype)), arr((3, 3), F64))
case("linalg_det", lambda L, a: L.linalg.det(a), arr((3, 3), F64))
case("linalg_solve", lambda L, a, b: L.linalg.solve(a + 3 * L.eye(3, dtype=a.dtype), b), arr((3, 3), F64), arr((3, 2), F64))
case("det", lambda L, a: L.det(a), arr((2, 3, 3), F64))
case("inverse", lambda L, a: L.inverse(a + 3 * L.eye(3, dtype=a.dtype)), arr((3, 3), F64))
case("cholesky", lambda L, a: L.linalg.cholesky(a @ a.mT + L.eye(3, dtype=a.dtype)), arr((3, 3), F64))
case("qr_r_abs", lambda L, a: L.linalg.qr(a)[1].abs(), arr((4, 3), F64))
case("svdvals", lambda L, a: L.linalg.svdvals(a), arr((4, 3), F64))
case("eigvalsh", lambda L, a: L.linalg.eigvalsh(a + a.mT), arr((3, 3), F64))
case("matrix_power", lambda L, a: L.linalg.matrix_power(a, 3), arr((3, 3), F64))
case("slogdet", lambda L, a: L.linalg.slogdet(a + 3 * L.eye(3, dtype=a.dtype)), arr((3, 3), F64))
case("pinv", lambda L, a: L.linalg.pinv(a), arr((4, 3), F64))
case("chain_matmul", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), arr((2, 3), F64), arr((3, 4), F64), arr((4, 2), F64))

# -- errors (both must raise the same exception type) --------------------------------
ERR = {
    "sum_dim_0d": lambda L: L.tensor(1.0).sum(1), "mean_dim_oob": lambda L: L.ones(2, 3).mean(2),
    "topk_k_gt_n": lambda L: L.tensor([1.0, 2.0]).topk(3), "argmax_oob": lambda L: L.ones(3).argmax(1),
    "softmax_oob": lambda L: L.softmax(L.ones(3), 1), "cumsum_oob": lambda L: L.ones(3).cumsum(1),
    "cat_mismatch": lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)], 0), "cat_empty": lambda L: L.cat([]),
    "stack_mismatch": lambda L: L.stack([L.ones(2), L.ones(3)]),
    "matmul_mismatch": lambda L: L.ones(2, 3) @ L.ones(2, 3), "mm_1d": lambda L: L.mm(L.ones(3), L.ones(3)),
    "add_bcast": lambda L: L.ones(2, 3) + L.ones(4), "view_bad": lambda L: L.ones(2, 3).view(4),
    "reshape_bad": lambda L: L.ones(2, 3).reshape(5, -1), "permute_bad": lambda L: L.ones(2, 3).permute(0),
    "transpose_oob": lambda L: L.ones(2, 3).transpose(0, 2), "squeeze_oob": lambda L: L.ones(2, 3).squeeze(3),
    "unsqueeze_oob": lambda L: L.ones(2, 3).unsqueeze(4), "index_oob": lambda L: L.ones(2, 3)[2],
    "index_float": lambda L: L.ones(2, 3)[L.tensor([0.0])], "index_too_many": lambda L: L.ones(2)[0, 0],
    "gather_oob": lambda L: L.ones(2, 3).gather(1, L.tensor([[3]])),
    "gather_ndim": lambda L: L.ones(2, 3).gather(1, L.tensor([0])),
    "gather_big": lambda L: L.ones(2, 3).gather(1, L.tensor([[0], [0], [0]])),
    "scatter_oob": lambda L: L.zeros(3).scatter(0, L.tensor([5]), L.ones(1)),
    "item_multi": lambda L: L.ones(2).item(), "bool_multi": lambda L: bool(L.ones(2)),
    "len_0d": lambda L: len(L.tensor(1.0)), "iter_0d": lambda L: list(L.tensor(1.0)),
    "requires_grad_int": lambda L: L.ones(2, dtype=L.int64).requires_grad_(),
    "backward_nonscalar": lambda L: L.ones(2, requires_grad=True).mul(2).backward(),
    "expand_bad": lambda L: L.ones(2, 3).expand(3, 3), "repeat_few": lambda L: L.ones(2, 3).repeat(2),
    "flatten_bad": lambda L: L.ones(2, 3).flatten(1, 0), "split_sizes_bad": lambda L: L.ones(4).split([1, 2]),
    "narrow_oob": lambda L: L.ones(4).narrow(0, 3, 2), "diag_3d": lambda L: L.diag(L.ones(2, 2, 2)),
    "tril_1d": lambda L: L.tril(L.ones(3)), "diagonal_same": lambda L: L.ones(2, 2).diagonal(0, 0, 0),
    "unfold_big": lambda L: L.ones(3).unfold(0, 4, 1), "unfold_step0": lambda L: L.ones(3).unfold(0, 2, 0),
    "bitwise_float": lambda L: L.ones(2) & L.ones(2), "invert_float": lambda L: ~L.ones(2),
    "lshift_float": lambda L: L.bitwise_left_shift(L.ones(2), 1),
    "div_bad_mode": lambda L: L.div(L.ones(2), 2, rounding_mode="round"),
    "int_div_zero": lambda L: L.div(L.ones(2, dtype=L.int64), 0, rounding_mode="floor"),
    "int_mod_zero": lambda L: L.ones(2, dtype=L.int64) % 0,
    "clamp_none": lambda L: L.clamp(L.ones(2)), "meshgrid_2d": lambda L: L.meshgrid(L.ones(2, 2), indexing="ij"),
    "repeat_interleave_neg": lambda L: L.repeat_interleave(L.ones(2), L.tensor([-1, 1])),
    "view_dtype_bad": lambda L: L.ones(3, dtype=L.float32).view(L.float64),
    "format_vector": lambda L: format(L.ones(2), ".2f"), "format_1elem": lambda L: format(L.ones(1), ".2f"),
    "mean_int": lambda L: L.ones(2, dtype=L.int64).mean(), "scatter_reduce_bad": lambda L: L.zeros(2).scatter_reduce(0, L.tensor([0]), L.ones(1), "maximum"),
    "sort_oob": lambda L: L.ones(3).sort(1), "kthvalue_oob": lambda L: L.ones(3).kthvalue(4),
    "argmax_empty": lambda L: L.ones(0).argmax(), "max_empty": lambda L: L.ones(0).max(),
    "roll_mismatch": lambda L: L.roll(L.ones(3, 3), (1, 1), 0), "pad_odd": lambda L: L.nn.functional.pad(L.ones(3), (1,)),
    "reflect_too_big": lambda L: L.nn.functional.pad(L.ones(1, 1, 3), (3, 0), mode="reflect"),
    "dot_2d": lambda L: L.dot(L.ones(2, 2), L.ones(2, 2)), "einsum_bad": lambda L: L.einsum("ij,jk", L.ones(2, 3), L.ones(4, 2)),
    "lerp_int": lambda L: L.lerp(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64), 0.5),
    "isclose_dtypes": lambda L: L.isclose(L.ones(2), L.ones(2, dtype=L.float64)),
    "chunk_zero": lambda L: L.ones(3).chunk(0), "index_select_2d": lambda L: L.ones(3).index_select(0, L.tensor([[0]])),
    "new_dim_neg": lambda L: L.zeros(-1), "arange_bad": lambda L: L.arange(0, 5, 0),
    "t_3d": lambda L: L.ones(2, 2, 2).t(), "squeeze_tuple_oob": lambda L: L.ones(2, 1).squeeze((0, 3)),
    "setitem_shape": lambda L: _setitem(L, L.ones(2, 3), 0, L.ones(4)),
    "masked_fill_float_mask": lambda L: L.ones(2).masked_fill(L.ones(2), 0.0),
}
for _n, _f in ERR.items():
    CASES.append((f"error_{_n}", (lambda f: lambda L: f(L))(_f), (), "error"))
