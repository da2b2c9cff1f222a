"""Oracle cases: type promotion, creation, in-place ops, nn.functional, long-tail surface,
out-of-range dims."""
from __future__ import annotations

import itertools

import numpy as np

from _oracle_base import B, CASES, F32, F64, I32, I64, U8, _iop, _setitem, arr, case  # noqa: F401


# -- more surface: type promotion, creation, in-place, nn.functional -------------------
def _extend():
    dts = (B, U8, np.int8, np.int16, I32, I64, np.float16, F32, F64)
    for da, db in itertools.product(dts, dts):
        for op in ("add", "mul", "div", "maximum", "where", "cat", "eq"):
            a, b = arr((3,), da, 1, 3), arr((3,), db, 1, 3)
            fn = {"add": lambda L, x, y: x + y, "mul": lambda L, x, y: x * y,
                  "div": lambda L, x, y: x / y, "maximum": lambda L, x, y: L.maximum(x, y),
                  "where": lambda L, x, y: L.where(L.tensor([True, False, True]), x, y),
                  "cat": lambda L, x, y: L.cat([x, y]), "eq": lambda L, x, y: x == y}[op]
            if op == "add" and da == B and db == B:
                continue
            CASES.append((f"promote_{op}_{np.dtype(da).name}_{np.dtype(db).name}", fn, (a, b), False))
        for sc in (2, 2.5, True):
            CASES.append((f"promote_scalar_{np.dtype(da).name}_{sc!r}",
                          (lambda s: lambda L, x: x * s)(sc), (arr((3,), da, 1, 3),), False))
        CASES.append((f"promote_0d_{np.dtype(da).name}_{np.dtype(F64).name}",
                      lambda L, x, y: x + y, (arr((3,), da, 1, 3), arr((), F64)), False))
        CASES.append((f"promote_0d_{np.dtype(da).name}_i64",
                      lambda L, x, y: x + y, (arr((3,), da, 1, 3), arr((), I64)), False))
    creation = {
        "tensor_int_list": lambda L: L.tensor([1, 2]), "tensor_float_list": lambda L: L.tensor([1.0, 2]),
        "tensor_bool": lambda L: L.tensor([True, False]), "tensor_mixed_bool_int": lambda L: L.tensor([True, 2]),
        "tensor_scalar": lambda L: L.tensor(3), "tensor_nested": lambda L: L.tensor([[1, 2], [3, 4.5]]),
        "tensor_dtype": lambda L: L.tensor([1, 2], dtype=L.float64), "tensor_empty": lambda L: L.tensor([]),
        "zeros": lambda L: L.zeros(2, 3), "zeros_tuple": lambda L: L.zeros((2, 3), dtype=L.int32),
        "ones": lambda L: L.ones([2]), "full_int": lambda L: L.full((2,), 7),
        "full_float": lambda L: L.full((2,), 7.0), "full_bool": lambda L: L.full((2,), True),
        "full_dtype": lambda L: L.full((2,), 7, dtype=L.float32), "arange": lambda L: L.arange(5),
        "arange_float": lambda L: L.arange(0, 1, 0.25), "arange_neg": lambda L: L.arange(5, 0, -2),
        "arange_dtype": lambda L: L.arange(3, dtype=L.float64), "linspace": lambda L: L.linspace(0, 1, 5),
        "linspace_int_dtype": lambda L: L.linspace(0, 10, 5, dtype=L.int64),
        "logspace": lambda L: L.logspace(0, 2, 3), "eye": lambda L: L.eye(3), "eye_rect": lambda L: L.eye(2, 3),
        "empty_shape": lambda L: L.empty(2, 3).shape, "zeros_like_int": lambda L: L.zeros_like(L.tensor([1, 2])),
        "ones_like": lambda L: L.ones_like(L.ones(2, dtype=L.float64)), "full_like": lambda L: L.full_like(L.ones(2), 3),
        "as_tensor": lambda L: L.as_tensor([1, 2], dtype=L.float32), "from_numpy": lambda L: L.from_numpy(np.arange(3)),
        "tensor_numpy_f64": lambda L: L.tensor(np.ones(2)), "tensor_np_scalar": lambda L: L.tensor(np.float64(2.0)),
        "complex_item": lambda L: L.tensor([1.5]).item(), "tolist": lambda L: L.tensor([[1, 2]]).tolist(),
        "numel": lambda L: L.ones(2, 3).numel(), "size_dim": lambda L: L.ones(2, 3).size(-1),
        "dim": lambda L: L.ones(2, 3).dim(), "element_size": lambda L: L.ones(2, dtype=L.int16).element_size(),
        "is_floating_point": lambda L: L.ones(2).is_floating_point(), "Size_eq": lambda L: L.ones(2, 3).shape == (2, 3),
        "int_cast": lambda L: int(L.tensor(2.7)), "float_cast": lambda L: float(L.tensor(2)),
        "bool_cast": lambda L: bool(L.tensor([0.0])), "len": lambda L: len(L.ones(4, 2)),
        "index_cast": lambda L: [10, 20, 30][L.tensor(1)], "to_int": lambda L: L.tensor([1.7, -1.7]).int(),
        "to_long": lambda L: L.tensor([1.7, -1.7]).long(), "to_bool": lambda L: L.tensor([0.0, 2.0]).bool(),
        "to_half": lambda L: L.tensor([1.5]).half(), "type_str": lambda L: L.ones(2).to(L.int32).float(),
        "clone_detach": lambda L: L.ones(2, requires_grad=True).clone().detach().requires_grad,
        "randn_shape": lambda L: L.randn(2, 3).shape, "rand_dtype": lambda L: L.rand(2, dtype=L.float64).dtype == L.float64,
        "randint": lambda L: L.randint(0, 5, (3,)).dtype == L.int64, "randperm": lambda L: L.randperm(4).sort().values,
        "tril_indices_off": lambda L: L.tril_indices(3, 3, 1), "cartesian_prod": lambda L: L.cartesian_prod(L.tensor([1, 2]), L.tensor([3, 4])),
        "block_diag_int": lambda L: L.block_diag(L.tensor([[1]]), L.tensor([[2, 3]])),
    }
    for n, f in creation.items():
        CASES.append((f"create_{n}", (lambda f: lambda L: f(L))(f), (), False))
    inplace = {
        "add_": lambda L, x: x.clone().add_(2.0), "add_alpha_": lambda L, x: x.clone().add_(x, alpha=2),
        "sub_": lambda L, x: x.clone().sub_(x * 0.5), "mul_": lambda L, x: x.clone().mul_(3),
        "div_": lambda L, x: x.clone().div_(2), "pow_": lambda L, x: x.abs().pow_(2),
        "clamp_": lambda L, x: x.clone().clamp_(-0.5, 0.5), "exp_": lambda L, x: x.clone().exp_(),
        "sigmoid_": lambda L, x: x.clone().sigmoid_(), "tanh_": lambda L, x: x.clone().tanh_(),
        "relu_": lambda L, x: x.clone().relu_(), "neg_": lambda L, x: x.clone().neg_(),
        "sinh_": lambda L, x: x.clone().sinh_(), "atan_": lambda L, x: x.clone().atan_(),
        "fmod_": lambda L, x: x.clone().fmod_(0.7), "remainder_": lambda L, x: x.clone().remainder_(0.7),
        "lerp_": lambda L, x: x.clone().lerp_(x * 2, 0.3), "triu_": lambda L, x: x.clone().triu_(),
        "masked_fill_": lambda L, x: x.clone().masked_fill_(x > 0, 0.0), "fill_": lambda L, x: x.clone().fill_(2.0),
        "zero_": lambda L, x: x.clone().zero_(), "copy_": lambda L, x: x.clone().copy_(x * 3),
        "setitem_slice": lambda L, x: _setitem(L, x, (slice(None), 0), 5.0),
        "setitem_tensor": lambda L, x: _setitem(L, x, L.tensor([0, 2]), x[1] * 2),
        "iadd": lambda L, x: _iop(x, "__iadd__", 1.0), "imul": lambda L, x: _iop(x, "__imul__", x),
        "itruediv": lambda L, x: _iop(x, "__itruediv__", 2.0), "isub": lambda L, x: _iop(x, "__isub__", x * 2),
        "imod": lambda L, x: _iop(x, "__imod__", 0.5), "ifloordiv_int": lambda L, x: _iop((x * 10).long(), "__ifloordiv__", 3),
        "iand_int": lambda L, x: _iop((x * 10).long(), "__iand__", 3), "ilshift": lambda L, x: _iop((x * 10).long().abs(), "__ilshift__", 1),
        "index_add_": lambda L, x: x.clone().index_add_(0, L.tensor([0, 0]), x[:2]),
        "scatter_": lambda L, x: x.clone().scatter_(1, L.tensor([[0], [1], [2]]), 1.0),
        "scatter_reduce_": lambda L, x: x.clone().scatter_reduce_(1, L.tensor([[0, 0], [1, 1], [2, 2]]), x[:, :2], "sum"),
        "cumsum_": lambda L, x: x.clone().cumsum_(1), "addcmul_": lambda L, x: x.clone().addcmul_(x, x, value=2),
    }
    for n, f in inplace.items():
        CASES.append((f"inplace_{n}", f, (arr((3, 4), F64),), True))
    fnn = {
        "mse": lambda L, a, b: L.nn.functional.mse_loss(a, b), "l1": lambda L, a, b: L.nn.functional.l1_loss(a, b, reduction="sum"),
        "smooth_l1": lambda L, a, b: L.nn.functional.smooth_l1_loss(a, b, beta=0.5), "huber": lambda L, a, b: L.nn.functional.huber_loss(a, b, delta=0.5),
        "bce_logits": lambda L, a, b: L.nn.functional.binary_cross_entropy_with_logits(a, (b > 0).to(a.dtype)),
        "bce": lambda L, a, b: L.nn.functional.binary_cross_entropy(L.sigmoid(a), (b > 0).to(a.dtype)),
        "kl_div": lambda L, a, b: L.nn.functional.kl_div(L.log_softmax(a, 1), L.softmax(b, 1), reduction="batchmean"),
        "cosine_similarity": lambda L, a, b: L.nn.functional.cosine_similarity(a, b), "pairwise_distance": lambda L, a, b: L.nn.functional.pairwise_distance(a, b),
        "mse_none": lambda L, a, b: L.nn.functional.mse_loss(a, b, reduction="none"),
        "soft_margin": lambda L, a, b: L.nn.functional.soft_margin_loss(a, L.sign(b)),
        "poisson_nll": lambda L, a, b: L.nn.functional.poisson_nll_loss(a, b.abs()),
        "gaussian_nll": lambda L, a, b: L.nn.functional.gaussian_nll_loss(a, b, L.ones_like(a)),
        "margin_ranking": lambda L, a, b: L.nn.functional.margin_ranking_loss(a[:, 0], b[:, 0], L.sign(a[:, 1])),
        "hinge_embedding": lambda L, a, b: L.nn.functional.hinge_embedding_loss(a, L.sign(b)),
        "linear": lambda L, a, b: L.nn.functional.linear(a, b, b[:, 0]),
        "bilinear_F": lambda L, a, b: L.nn.functional.bilinear(a, b, L.ones(2, 4, 4, dtype=a.dtype)),
        "layer_norm": lambda L, a, b: L.nn.functional.layer_norm(a, (4,), b[0], b[1]),
        "group_norm": lambda L, a, b: L.nn.functional.group_norm(a.reshape(1, 4, 3), 2),
        "instance_norm": lambda L, a, b: L.nn.functional.instance_norm(a.reshape(1, 3, 4)),
        "batch_norm_train": lambda L, a, b: L.nn.functional.batch_norm(a, None, None, training=True),
        "embedding": lambda L, a, b: L.nn.functional.embedding(L.tensor([[0, 2], [1, 1]]), a),
        "dropout_eval": lambda L, a, b: L.nn.functional.dropout(a, 0.5, training=False),
        "softmax_F": lambda L, a, b: L.nn.functional.softmax(a, dim=0), "gumbel_shape": lambda L, a, b: L.nn.functional.gumbel_softmax(a, hard=True).shape,
        "conv1d": lambda L, a, b: L.nn.functional.conv1d(a.reshape(1, 3, 4), b.reshape(3, 1, 4)[:, :, :2], groups=3, padding=1),
        "conv2d_stride": lambda L, a, b: L.nn.functional.conv2d(a.reshape(1, 1, 3, 4), b.reshape(3, 1, 2, 2), stride=(1, 2), padding="valid"),
        "conv2d_same": lambda L, a, b: L.nn.functional.conv2d(a.reshape(1, 1, 3, 4), b.reshape(3, 1, 2, 2), padding="same"),
        "conv_transpose2d": lambda L, a, b: L.nn.functional.conv_transpose2d(a.reshape(1, 1, 3, 4), b.reshape(1, 3, 2, 2), stride=2),
        "max_pool2d": lambda L, a, b: L.nn.functional.max_pool2d(a.reshape(1, 1, 3, 4), 2, ceil_mode=True),
        "max_pool1d_idx": lambda L, a, b: L.nn.functional.max_pool1d(a.reshape(1, 3, 4), 2, return_indices=True),
        "avg_pool2d_pad": lambda L, a, b: L.nn.functional.avg_pool2d(a.reshape(1, 1, 3, 4), 2, padding=1, count_include_pad=False),
        "adaptive_avg": lambda L, a, b: L.nn.functional.adaptive_avg_pool2d(a.reshape(1, 1, 3, 4), (2, 3)),
        "adaptive_max": lambda L, a, b: L.nn.functional.adaptive_max_pool1d(a.reshape(1, 3, 4), 3),
        "lp_pool": lambda L, a, b: L.nn.functional.lp_pool1d(a.reshape(1, 3, 4).abs() + 0.1, 2, 2),
        "interp_nearest": lambda L, a, b: L.nn.functional.interpolate(a.reshape(1, 1, 3, 4), scale_factor=2),
        "interp_bilinear_ac": lambda L, a, b: L.nn.functional.interpolate(a.reshape(1, 1, 3, 4), size=(5, 7), mode="bilinear", align_corners=True),
        "interp_bicubic": lambda L, a, b: L.nn.functional.interpolate(a.reshape(1, 1, 3, 4), size=(5, 6), mode="bicubic"),
        "interp_area": lambda L, a, b: L.nn.functional.interpolate(a.reshape(1, 1, 3, 4), size=(2, 2), mode="area"),
        "unfold_F": lambda L, a, b: L.nn.functional.unfold(a.reshape(1, 1, 3, 4), 2), "fold_F": lambda L, a, b: L.nn.functional.fold(a.reshape(1, 4, 3), (2, 4), 2),
        "pixel_shuffle": lambda L, a, b: L.nn.functional.pixel_shuffle(a.reshape(1, 4, 3, 1), 2),
        "sdpa": lambda L, a, b: L.nn.functional.scaled_dot_product_attention(a.reshape(1, 3, 4), b.reshape(1, 3, 4), a.reshape(1, 3, 4)),
        "sdpa_causal": lambda L, a, b: L.nn.functional.scaled_dot_product_attention(a.reshape(1, 3, 4), b.reshape(1, 3, 4), b.reshape(1, 3, 4), is_causal=True),
        "log_softmax_F": lambda L, a, b: L.nn.functional.log_softmax(a, 1), "prelu": lambda L, a, b: L.nn.functional.prelu(a, b[0, :1]),
        "rrelu_eval": lambda L, a, b: L.nn.functional.rrelu(a, training=False), "logsumexp_F": lambda L, a, b: L.logsumexp(a, (0, 1)),
        "triplet": lambda L, a, b: L.nn.functional.triplet_margin_loss(a, b, a * 0.5),
        "ctc_shape": lambda L, a, b: a.shape, "affine_grid": lambda L, a, b: L.nn.functional.affine_grid(a[:2].reshape(1, 2, 3) if False else L.eye(2, 3, dtype=a.dtype).unsqueeze(0), (1, 1, 2, 3), align_corners=False),
    }
    for n, f in fnn.items():
        CASES.append((f"F_{n}", f, (arr((3, 4), F64), arr((3, 4), F64)), True))
    ce = {
        "ce": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 3, 1])),
        "ce_smooth": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 3, 1]), label_smoothing=0.1),
        "ce_ignore": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, -100, 1])),
        "ce_weight": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 3, 1]), weight=L.tensor([1.0, 2.0, 0.5, 1.0], dtype=x.dtype)),
        "ce_probs": lambda L, x: L.nn.functional.cross_entropy(x, L.softmax(x * 2, 1)),
        "ce_sum": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 3, 1]), reduction="sum"),
        "nll": lambda L, x: L.nn.functional.nll_loss(L.log_softmax(x, 1), L.tensor([2, 0, 1])),
        "ce_spatial": lambda L, x: L.nn.functional.cross_entropy(x.reshape(1, 3, 2, 2), L.tensor([[[0, 1], [2, 2]]])),
        "multi_margin": lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 3, 1])),
        "multilabel_soft": lambda L, x: L.nn.functional.multilabel_soft_margin_loss(x, (x > 0).long()),
    }
    for n, f in ce.items():
        CASES.append((f"loss_{n}", f, (arr((3, 4), F64),), True))




_extend()


def _extend_surface():
    S = {
        "quantile_dim": lambda L, x: L.quantile(x, 0.3, dim=1), "quantile_all": lambda L, x: x.quantile(0.75),
        "quantile_vec": lambda L, x: L.quantile(x, L.tensor([0.25, 0.5], dtype=x.dtype), dim=0, keepdim=True),
        "quantile_lower": lambda L, x: L.quantile(x, 0.4, dim=1, interpolation="lower"),
        "quantile_midpoint": lambda L, x: L.quantile(x, 0.4, dim=1, interpolation="midpoint"),
        "quantile_nearest": lambda L, x: L.quantile(x, 0.5, dim=1, interpolation="nearest"),
        "mode": lambda L, x: L.mode((x * 2).round(), 1), "cov": lambda L, x: L.cov(x), "corrcoef": lambda L, x: L.corrcoef(x),
        "dist": lambda L, x: L.dist(x, x.flip(0), 3), "vdot": lambda L, x: L.vdot(x[0], x[1]),
        "pdist": lambda L, x: L.pdist(x), "frexp": lambda L, x: L.frexp(x), "isin": lambda L, x: L.isin(L.tensor([1, 2, 5]), L.tensor([2, 5])),
        "hsplit": lambda L, x: L.hsplit(x, 2), "vsplit_list": lambda L, x: L.vsplit(x, [1]), "split_with_sizes": lambda L, x: x.split_with_sizes([1, 3], 1),
        "select": lambda L, x: L.select(x, 1, -1), "ravel": lambda L, x: x.t().ravel(), "adjoint": lambda L, x: x.adjoint(),
        "masked_scatter": lambda L, x: x.masked_scatter(x > 0, x * 10), "index_put": lambda L, x: x.index_put((L.tensor([0, 2]), L.tensor([1, 1])), L.tensor([5.0, 6.0], dtype=x.dtype)),
        "index_put_acc": lambda L, x: x.index_put((L.tensor([0, 0]),), x[1] * 2, accumulate=True),
        "put": lambda L, x: x.put(L.tensor([0, -1]), L.tensor([9.0, 8.0], dtype=x.dtype)),
        "select_scatter": lambda L, x: L.select_scatter(x, x[:, 0] * 3, 1, 2),
        "slice_scatter": lambda L, x: L.slice_scatter(x, x[:, :2] * 3, 1, 1, 3),
        "diagonal_scatter": lambda L, x: L.diagonal_scatter(x, x.diagonal() * 5),
        "fill_diagonal": lambda L, x: x.clone().fill_diagonal_(7.0), "renorm": lambda L, x: x.renorm(2, 0, 1.0),
        "vander": lambda L, x: L.vander(x[0], 3), "combinations": lambda L, x: L.combinations(x[0], 2),
        "cumulative_trapezoid": lambda L, x: L.cumulative_trapezoid(x, dim=1), "isneginf": lambda L, x: L.isneginf(x / 0),
        "broadcast_tensors": lambda L, x: L.broadcast_tensors(x, x[0]), "broadcast_shapes": lambda L, x: L.broadcast_shapes((3, 1), (4,)),
        "result_type": lambda L, x: str(L.result_type(x, 2)).replace("torch.", ""), "promote_types": lambda L, x: str(L.promote_types(L.int32, L.float16)).replace("torch.", ""),
        "greater": lambda L, x: L.greater(x, 0), "ne_inplace": lambda L, x: x.clone().ne_(x[0]), "le_method": lambda L, x: x.less_equal(0.1),
        "unsqueeze_": lambda L, x: x.clone().unsqueeze_(0), "t_": lambda L, x: x.clone().t_(), "squeeze_": lambda L, x: x[:1].clone().squeeze_(),
        "byte": lambda L, x: (x * 10).abs().byte(), "short": lambda L, x: (x * 10).short(), "nelement": lambda L, x: x.nelement(),
        "itemsize": lambda L, x: x.itemsize, "nbytes": lambda L, x: x.nbytes, "hann": lambda L, x: L.hann_window(5),
        "hamming": lambda L, x: L.hamming_window(6, periodic=False), "chain_matmul": lambda L, x: L.chain_matmul(x, x.t(), x),
        "clamp_min_fn": lambda L, x: L.clamp_min(x, 0.1), "relu_fn_": lambda L, x: L.relu_(x.clone()), "sin_fn_": lambda L, x: L.sin_(x.clone()),
        "unravel_index": lambda L, x: L.unravel_index(L.tensor([5, 7]), (3, 4)),
        "conv2d_top": lambda L, x: L.conv2d(x.reshape(1, 1, 3, 4), x[:2, :2].reshape(1, 1, 2, 2)),
        "max_pool1d_top": lambda L, x: L.max_pool1d(x.reshape(1, 3, 4), 2), "layer_norm_top": lambda L, x: L.layer_norm(x, (4,)),
        "mH": lambda L, x: x.mH, "addmm_method": lambda L, x: x.addmm(x, L.ones(4, 4, dtype=x.dtype), beta=0.5),
        "erf_": lambda L, x: x.clone().erf_(), "expm1_": lambda L, x: x.clone().expm1_(), "clamp_min_": lambda L, x: x.clone().clamp_min_(0.2),
        "logical_xor_method": lambda L, x: (x > 0).logical_xor(x < 0.5), "subtract": lambda L, x: x.subtract(1), "multiply_": lambda L, x: x.clone().multiply_(3),
    }
    for n, f in S.items():
        CASES.append((f"surface_{n}", f, (arr((3, 4), F64),), True))


_extend_surface()


def _extend_dims_and_promotion():
    dim_ops = {
        "flip": lambda L, x, d: x.flip(d), "roll": lambda L, x, d: x.roll(1, d), "cat": lambda L, x, d: L.cat([x, x], d),
        "stack": lambda L, x, d: L.stack([x, x], d), "split": lambda L, x, d: x.split(1, d), "chunk": lambda L, x, d: x.chunk(2, d),
        "unbind": lambda L, x, d: x.unbind(d), "narrow": lambda L, x, d: x.narrow(d, 0, 1), "index_select": lambda L, x, d: x.index_select(d, L.tensor([0])),
        "gather": lambda L, x, d: x.gather(d, L.zeros(1, 1, dtype=L.int64)), "movedim": lambda L, x, d: x.movedim(d, 0),
        "flatten": lambda L, x, d: x.flatten(d), "unflatten": lambda L, x, d: x.unflatten(d, (1, -1)), "cumsum": lambda L, x, d: x.cumsum(d),
        "cumprod": lambda L, x, d: x.cumprod(d), "cummax": lambda L, x, d: x.cummax(d), "logcumsumexp": lambda L, x, d: x.logcumsumexp(d),
        "sort": lambda L, x, d: x.sort(d), "argsort": lambda L, x, d: x.argsort(d), "topk": lambda L, x, d: x.topk(1, d),
        "median": lambda L, x, d: x.median(d), "var": lambda L, x, d: x.var(d), "std": lambda L, x, d: x.std(d), "norm": lambda L, x, d: x.norm(dim=d),
        "logsumexp": lambda L, x, d: x.logsumexp(d), "all": lambda L, x, d: x.all(d), "any": lambda L, x, d: x.any(d),
        "amax": lambda L, x, d: x.amax(d), "max": lambda L, x, d: x.max(d), "argmax": lambda L, x, d: x.argmax(d), "prod": lambda L, x, d: x.prod(d),
        "mean": lambda L, x, d: x.mean(d), "softmax": lambda L, x, d: x.softmax(d), "log_softmax": lambda L, x, d: x.log_softmax(d),
        "squeeze": lambda L, x, d: x.squeeze(d), "unsqueeze": lambda L, x, d: x.unsqueeze(d), "transpose": lambda L, x, d: x.transpose(0, d),
        "diagonal": lambda L, x, d: x.diagonal(0, 0, d), "tril_dim": lambda L, x, d: x.diag_embed(0, 0, d), "repeat_interleave": lambda L, x, d: x.repeat_interleave(2, d),
        "unfold": lambda L, x, d: x.unfold(d, 1, 1), "kthvalue": lambda L, x, d: x.kthvalue(1, d), "mode": lambda L, x, d: x.mode(d),
        "scatter": lambda L, x, d: x.scatter(d, L.zeros(1, 1, dtype=L.int64), 1.0), "count_nonzero": lambda L, x, d: L.count_nonzero(x, d),
        "nansum": lambda L, x, d: L.nansum(x, d), "aminmax": lambda L, x, d: L.aminmax(x, dim=d), "sum": lambda L, x, d: x.sum(d),
        "cumsum_neg": lambda L, x, d: x.cumsum(-d - 1), "select": lambda L, x, d: x.select(d, 0), "tensor_split": lambda L, x, d: x.tensor_split(2, d),
    }
    for n, f in dim_ops.items():
        for d in (2, 3, -3):
            CASES.append((f"dim_{n}_{d}", (lambda f, d: lambda L, x: f(L, x, d))(f, d), (arr((2, 3), F64),), True))
    dts = (B, U8, I32, I64, np.float16, F32, F64)
    binops = {"sub": lambda L, x, y: x - y, "pow": lambda L, x, y: x ** y, "remainder": lambda L, x, y: x % y,
              "floor_divide": lambda L, x, y: x // y, "atan2": lambda L, x, y: L.atan2(x, y), "minimum": lambda L, x, y: L.minimum(x, y),
              "lt": lambda L, x, y: x < y, "bitwise_or": lambda L, x, y: x | y, "hypot": lambda L, x, y: L.hypot(x, y),
              "copysign": lambda L, x, y: L.copysign(x, y), "fmod": lambda L, x, y: L.fmod(x, y), "logaddexp": lambda L, x, y: L.logaddexp(x, y)}
    for (n, f), da, db in itertools.product(binops.items(), dts, dts):
        CASES.append((f"promote2_{n}_{np.dtype(da).name}_{np.dtype(db).name}", f, (arr((3,), da, 1, 3), arr((3,), db, 1, 3)), False))
    for n, f in binops.items():
        for da in dts:
            for sc in (3, 1.5):
                CASES.append((f"promote2_{n}_{np.dtype(da).name}_scalar{sc}", (lambda f, sc: lambda L, x: f(L, x, sc))(f, sc), (arr((3,), da, 1, 3),), False))
    unops = ("exp", "sqrt", "sigmoid", "abs", "neg", "floor", "round", "sin", "atan", "erf", "log1p", "reciprocal", "square", "sign", "trunc", "frac", "cumsum", "logit")
    for n in unops:
        for da in dts:
            kw = (0,) if n == "cumsum" else ()
            CASES.append((f"unary_dtype_{n}_{np.dtype(da).name}", (lambda n, kw: lambda L, x: getattr(L, n)(x, *kw))(n, kw), (arr((3,), da, 1, 3),), False))


_extend_dims_and_promotion()
