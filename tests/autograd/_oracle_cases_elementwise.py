"""Oracle cases: elementwise ops, activations, reductions, scans, sorting."""
from __future__ import annotations

import itertools

import numpy as np

from _oracle_base import B, CASES, F32, F64, I32, I64, U8, _iop, _setitem, arr, case  # noqa: F401


SHAPES = [(), (5,), (3, 4), (2, 3, 4)]

# -- unary elementwise ---------------------------------------------------------------
UNARY = {  # name: (low, high, away)
    "abs": (-2, 2, 0.05), "neg": (-2, 2, 0), "exp": (-2, 2, 0), "exp2": (-2, 2, 0),
    "expm1": (-2, 2, 0), "log": (0.1, 3, 0), "log2": (0.1, 3, 0), "log10": (0.1, 3, 0),
    "log1p": (-0.5, 2, 0), "sqrt": (0.1, 3, 0), "rsqrt": (0.1, 3, 0), "sin": (-3, 3, 0),
    "cos": (-3, 3, 0), "tan": (-1.2, 1.2, 0), "sinh": (-2, 2, 0), "cosh": (-2, 2, 0),
    "tanh": (-2, 2, 0), "asin": (-0.9, 0.9, 0), "acos": (-0.9, 0.9, 0), "atan": (-3, 3, 0),
    "asinh": (-3, 3, 0), "acosh": (1.1, 3, 0), "atanh": (-0.9, 0.9, 0), "sigmoid": (-3, 3, 0),
    "relu": (-2, 2, 0.05), "erf": (-2, 2, 0), "sign": (-2, 2, 0.05), "floor": (-2, 2, 0),
    "ceil": (-2, 2, 0), "round": (-2, 2, 0), "trunc": (-2, 2, 0), "square": (-2, 2, 0),
    "reciprocal": (-2, 2, 0.2), "deg2rad": (-2, 2, 0), "rad2deg": (-2, 2, 0), "sinc": (-2, 2, 0.1),
    "arcsin": (-0.9, 0.9, 0), "arctan": (-2, 2, 0), "frac": (-2, 2, 0), "logit": (0.1, 0.9, 0),
    "erfinv": (-0.9, 0.9, 0), "lgamma": (0.2, 3, 0), "digamma": (0.2, 3, 0), "i0": (-2, 2, 0),
    "nan_to_num": (-2, 2, 0), "positive": (-2, 2, 0), "signbit": (-2, 2, 0.1),
    "isnan": (-2, 2, 0), "isfinite": (-2, 2, 0), "isinf": (-2, 2, 0), "erfc": (-2, 2, 0),
    "sgn": (-2, 2, 0.05), "fix": (-2, 2, 0), "negative": (-2, 2, 0), "absolute": (-2, 2, 0.05),
}
for _n, (_lo, _hi, _aw) in UNARY.items():
    for _s, _dt in itertools.product(SHAPES, (F32, F64)):
        case(f"{_n}_{_dt.__name__}_{_s}", (lambda n: lambda L, x: getattr(L, n)(x))(_n),
             arr(_s, _dt, _lo, _hi, _aw))
    case(f"{_n}_method", (lambda n: lambda L, x: getattr(x, n)())(_n), arr((3, 4), F32, _lo, _hi, _aw))
for _n in ("exp", "log", "sqrt", "sin", "tanh", "sigmoid", "abs", "neg", "sign", "floor",
           "square", "asin", "atan", "cosh", "erf"):
    case(f"{_n}_int", (lambda n: lambda L, x: getattr(L, n)(x))(_n), arr((4,), I64, 1, 3))
for _n in ("abs", "neg", "sign", "square"):
    case(f"{_n}_int32", (lambda n: lambda L, x: getattr(L, n)(x))(_n), arr((4,), I32))

ACT = {"relu": (), "gelu": (), "silu": (), "elu": (), "selu": (), "celu": (), "softplus": (),
       "mish": (), "hardtanh": (), "leaky_relu": (0.2,), "logsigmoid": (), "hardswish": (),
       "hardsigmoid": (), "relu6": (), "softsign": (), "tanhshrink": (), "softshrink": (0.5,),
       "hardshrink": (0.5,), "sigmoid": (), "tanh": ()}
for _n, _args in ACT.items():
    for _dt in (F32, F64):
        case(f"F.{_n}_{_dt.__name__}", (lambda n, a: lambda L, x: getattr(L.nn.functional, n)(x, *a))(_n, _args),
             arr((3, 5), _dt, -3, 3, 0.05))
case("F.gelu_tanh", lambda L, x: L.nn.functional.gelu(x, approximate="tanh"), arr((6,), F64))
case("F.softplus_beta", lambda L, x: L.nn.functional.softplus(x, beta=2, threshold=3), arr((6,), F64, -3, 3))
case("F.elu_alpha", lambda L, x: L.nn.functional.elu(x, alpha=0.5), arr((6,), F64, away=0.05))
case("F.threshold", lambda L, x: L.nn.functional.threshold(x, 0.1, 20.0), arr((6,), F64, away=0.05))
case("F.glu", lambda L, x: L.nn.functional.glu(x, -1), arr((3, 4), F64))
case("F.normalize", lambda L, x: L.nn.functional.normalize(x, dim=1), arr((3, 4), F64))
case("F.normalize_p1", lambda L, x: L.nn.functional.normalize(x, p=1, dim=0), arr((3, 4), F64))
case("F.normalize_p0", lambda L, x: L.nn.functional.normalize(x, p=0, dim=1), arr((3, 4), F64))

# -- binary elementwise --------------------------------------------------------------
BINARY = {"add": (-2, 2, 0), "sub": (-2, 2, 0), "mul": (-2, 2, 0), "div": (-2, 2, 0.3),
          "maximum": (-2, 2, 0), "minimum": (-2, 2, 0), "atan2": (-2, 2, 0.2),
          "hypot": (-2, 2, 0.2), "copysign": (-2, 2, 0.2), "fmod": (-3, 3, 0.3),
          "remainder": (-3, 3, 0.3), "logaddexp": (-2, 2, 0), "logaddexp2": (-2, 2, 0),
          "xlogy": (0.2, 2, 0), "floor_divide": (-3, 3, 0.3), "fmax": (-2, 2, 0),
          "fmin": (-2, 2, 0), "true_divide": (-2, 2, 0.3), "eq": (-2, 2, 0), "ne": (-2, 2, 0),
          "lt": (-2, 2, 0), "le": (-2, 2, 0), "gt": (-2, 2, 0), "ge": (-2, 2, 0),
          "pow": (0.2, 2, 0), "float_power": (0.2, 2, 0), "nextafter": (-2, 2, 0),
          "ldexp": (-2, 2, 0), "heaviside": (-2, 2, 0), "subtract": (-2, 2, 0),
          "multiply": (-2, 2, 0), "divide": (-2, 2, 0.3)}
BSHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((5,), ())]
for _n, (_lo, _hi, _aw) in BINARY.items():
    for (_sa, _sb), _dt in itertools.product(BSHAPES, (F32, F64)):
        case(f"{_n}_{_dt.__name__}_{_sa}_{_sb}", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n),
             arr(_sa, _dt, _lo, _hi, _aw), arr(_sb, _dt, _lo, _hi, _aw))
    case(f"{_n}_f32_f64", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n),
         arr((3,), F32, _lo, _hi, _aw), arr((3,), F64, _lo, _hi, _aw))
    case(f"{_n}_f32_i32", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n),
         arr((3,), F32, _lo, _hi, _aw), arr((3,), I32, 1, 3))
    case(f"{_n}_i32_scalar_float", (lambda n: lambda L, a: getattr(L, n)(a, 2.5))(_n), arr((3,), I32, 1, 3))
    case(f"{_n}_f32_scalar_int", (lambda n: lambda L, a: getattr(L, n)(a, 2))(_n), arr((3,), F32, _lo, _hi, _aw))
    case(f"{_n}_f32_0d_f64", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n),
         arr((3,), F32, _lo, _hi, _aw), arr((), F64, _lo, _hi, 0.5))
for _n in ("add", "sub", "mul", "remainder", "fmod", "floor_divide", "maximum", "minimum",
           "eq", "lt", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
           "bitwise_right_shift", "gcd", "lcm"):
    case(f"{_n}_i64_i64", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), arr((4,), I64, 1, 5), arr((4,), I64, 1, 3))
    case(f"{_n}_i32_i64", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), arr((4,), I32, 1, 5), arr((4,), I64, 1, 3))
    case(f"{_n}_i32_scalar", (lambda n: lambda L, a: getattr(L, n)(a, 2))(_n), arr((4,), I32, 1, 5))
    case(f"{_n}_u8_u8", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), arr((4,), U8, 1, 5), arr((4,), U8, 1, 3))
for _n in ("bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor"):
    case(f"{_n}_bool", (lambda n: lambda L, a, b: getattr(L, n)(a, b))(_n), arr((5,), B), arr((5,), B))
case("bitwise_not_int", lambda L, a: L.bitwise_not(a), arr((5,), I64))
case("bitwise_not_bool", lambda L, a: L.bitwise_not(a), arr((5,), B))
case("op_xor_int", lambda L, a, b: a ^ b, arr((5,), I64), arr((5,), I64))
case("op_and_int_scalar", lambda L, a: a & 6, arr((5,), I64))
case("op_or_int", lambda L, a, b: a | b, arr((5,), I32), arr((5,), I32))
case("op_invert_int", lambda L, a: ~a, arr((5,), I64))
case("op_invert_bool", lambda L, a: ~a, arr((5,), B))
case("op_xor_bool", lambda L, a, b: a ^ b, arr((5,), B), arr((5,), B))
case("op_lshift", lambda L, a: a << 2, arr((5,), I64, 0, 5))
case("op_rshift", lambda L, a: a >> 1, arr((5,), I32, 0, 9))
case("op_rlshift", lambda L, a: 1 << a, arr((5,), I64, 0, 5))
case("op_mod_f32", lambda L, a: a % 1.5, arr((5,), F32))
case("op_rmod_f32", lambda L, a: 5.5 % a, arr((5,), F32, away=0.3))
case("op_mod_i32", lambda L, a: a % 3, arr((5,), I32))
case("op_mod_i32_float", lambda L, a: a % 2.5, arr((5,), I32))
case("op_floordiv_i32", lambda L, a: a // 2, arr((5,), I32))
case("op_rfloordiv", lambda L, a: 7 // a, arr((5,), I64, 1, 4))
case("op_floordiv_f32_i32", lambda L, a, b: a // b, arr((5,), F32), arr((5,), I32, 1, 3))
case("op_pow_int_int", lambda L, a: a ** 2, arr((5,), I32))
case("op_rpow_int", lambda L, a: 2 ** a, arr((5,), I32, 0, 4))
case("op_rpow_zero", lambda L, a: 0 ** a, arr((5,), F64, 0.1, 2))
case("op_rpow_float", lambda L, a: 1.5 ** a, arr((5,), F32))
case("op_pow_neg_int", lambda L, a: a ** -2, arr((5,), F64, away=0.3))
case("op_truediv_int", lambda L, a, b: a / b, arr((5,), I32, 1, 4), arr((5,), I32, 1, 3))
case("op_radd_int_float", lambda L, a: 1.5 + a, arr((5,), I64))
case("op_rsub_bool", lambda L, a: 1 - a.int(), arr((5,), B))
for _m in ("floor", "trunc"):
    case(f"div_{_m}_f32", (lambda m: lambda L, a, b: L.div(a, b, rounding_mode=m))(_m), arr((6,), F32, -3, 3), arr((6,), F32, away=0.3))
    case(f"div_{_m}_f32_i32", (lambda m: lambda L, a, b: L.div(a, b, rounding_mode=m))(_m), arr((6,), F32, -3, 3), arr((6,), I32, 1, 3))
    case(f"div_{_m}_i32_scalar", (lambda m: lambda L, a: L.div(a, 2, rounding_mode=m))(_m), arr((6,), I32))
    case(f"div_{_m}_i64_neg", (lambda m: lambda L, a: L.div(a, -3, rounding_mode=m))(_m), arr((6,), I64))
case("lerp_scalar", lambda L, a, b: L.lerp(a, b, 0.3), arr((3, 4), F64), arr((4,), F64))
case("lerp_tensor", lambda L, a, b, w: L.lerp(a, b, w), arr((3, 4), F64), arr((4,), F64), arr((3, 1), F64))
case("isclose", lambda L, a, b: L.isclose(a, b, rtol=0.1, atol=0.1), arr((6,), F32), arr((6,), F32))
case("where", lambda L, c, a, b: L.where(c, a, b), arr((3, 4), B), arr((3, 4), F64), arr((4,), F64))
case("where_scalar", lambda L, c, a: L.where(c, a, 0.0), arr((3, 4), B), arr((3, 4), F32))
case("clamp", lambda L, a: L.clamp(a, -0.5, 0.7), arr((3, 4), F64))
case("clamp_min_tensor", lambda L, a, m: L.clamp(a, min=m), arr((3, 4), F64), arr((4,), F64))
case("clamp_int", lambda L, a: L.clamp(a, 0, 3), arr((6,), I64))
case("clamp_min_method", lambda L, a: a.clamp_min(0.1), arr((6,), F64))

# -- reductions ----------------------------------------------------------------------
RED = ["sum", "mean", "prod", "amax", "amin", "logsumexp", "std", "var", "norm", "nansum",
       "nanmean", "count_nonzero"]
RDIMS = {(): [None, 0, -1], (5,): [None, 0, -1], (3, 4): [None, 0, 1, -1, (0, 1)],
         (2, 3, 4): [None, 1, (0, 2), -1]}
for _n in RED:
    for _s, _dims in RDIMS.items():
        for _d in _dims:
            for _k in (False, True):
                if _n in ("logsumexp",) and _d is None:
                    continue
                if _d is None and _k:
                    continue
                kw = {} if _d is None else {"dim": _d}
                if _d is not None and _n != "count_nonzero":
                    kw["keepdim"] = _k
                case(f"{_n}_{_s}_{_d}_{_k}", (lambda n, kw: lambda L, x: getattr(L, n)(x, **kw))(_n, kw),
                     arr(_s, F64, 0.2, 2) if _n == "prod" else arr(_s, F64))
for _n in ("sum", "prod", "amax", "amin", "argmax", "argmin", "all", "any", "count_nonzero", "cumsum", "cumprod"):
    for _dt in (I64, I32, B, U8):
        kw = {"dim": 0} if _n in ("cumsum", "cumprod") else {}
        case(f"{_n}_{_dt.__name__}", (lambda n, kw: lambda L, x: getattr(L, n)(x, **kw))(_n, kw), arr((4, 3), _dt))
for _n in ("max", "min", "argmax", "argmin", "median", "all", "any"):
    for _d, _k in ((None, False), (0, False), (1, True), (-1, False)):
        kw = {} if _d is None else {"dim": _d, "keepdim": _k}
        case(f"{_n}_dim{_d}_{_k}", (lambda n, kw: lambda L, x: getattr(L, n)(x, **kw))(_n, kw), arr((3, 4), F64))
case("max_ties_grad", lambda L, x: x.max(), np.array([1.0, 3.0, 3.0, 2.0]))
case("max_dim_ties", lambda L, x: L.max(x, 1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))
case("max_binary", lambda L, a, b: L.max(a, b), arr((3, 4), F64), arr((4,), F64))
case("sum_axis_alias", lambda L, x: L.sum(x, axis=1, keepdims=True), arr((3, 4), F32))
case("mean_axis_alias", lambda L, x: x.mean(axis=0), arr((3, 4), F32))
case("amax_axis_alias", lambda L, x: L.amax(x, axis=(0, 1)), arr((2, 3, 4), F32))
case("var_correction0", lambda L, x: L.var(x, 1, correction=0), arr((3, 4), F64))
case("std_unbiased_false", lambda L, x: x.std(0, unbiased=False), arr((3, 4), F64))
case("var_mean", lambda L, x: L.var_mean(x, 1), arr((3, 4), F64))
case("std_mean", lambda L, x: L.std_mean(x, 0), arr((3, 4), F64))
case("sum_dtype", lambda L, x: L.sum(x, 0, dtype=L.float64), arr((3, 4), F32))
case("mean_dtype", lambda L, x: L.mean(x, 0, dtype=L.float64), arr((3, 4), F32))
case("prod_zero_grad", lambda L, x: L.prod(x, 1), np.array([[1.0, 0.0, 3.0], [2.0, 0.0, 0.0]]))
case("norm_p3", lambda L, x: L.norm(x, 3, 1), arr((3, 4), F64, away=0.1))
case("norm_inf", lambda L, x: L.norm(x, float("inf")), arr((3, 4), F64))
case("norm_p1", lambda L, x: x.norm(p=1, dim=0, keepdim=True), arr((3, 4), F64, away=0.1))
case("aminmax", lambda L, x: L.aminmax(x, dim=1), arr((3, 4), F64))
case("softmax_dim0", lambda L, x: L.softmax(x, 0), arr((3, 4), F64))
case("softmax_int_dtype", lambda L, x: L.softmax(x, -1, dtype=L.float64), arr((3, 4), F32))
case("log_softmax", lambda L, x: L.log_softmax(x, -1), arr((2, 3, 4), F64))
case("F.softmin", lambda L, x: L.nn.functional.softmin(x, 1), arr((3, 4), F64))
for _n in ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"):
    for _s, _d in (((), 0), ((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1)):
        case(f"{_n}_{_s}_{_d}", (lambda n, d: lambda L, x: getattr(L, n)(x, d))(_n, _d), arr(_s, F64, 0.3, 2) if _n == "cumprod" else arr(_s, F64))
    case(f"{_n}_method", (lambda n: lambda L, x: getattr(x, n)(0))(_n), arr((4, 2), F32))
case("cumprod_zero_grad", lambda L, x: L.cumprod(x, 0), np.array([2.0, 0.0, 3.0, 0.5]))
case("cummax_ties", lambda L, x: L.cummax(x, 0), np.array([1.0, 3.0, 3.0, 2.0, 5.0]))
case("cummin_int", lambda L, x: L.cummin(x, 0), np.array([3, 1, 1, 2, 0]))
case("cumsum_int32", lambda L, x: L.cumsum(x, 0), arr((5,), I32))
case("cumsum_dtype", lambda L, x: L.cumsum(x, 0, dtype=L.float64), arr((5,), F32))
case("cumsum_0d", lambda L, x: x.cumsum(0), arr((), F32))
for _d in (False, True):
    case(f"sort_desc{_d}", (lambda d: lambda L, x: L.sort(x, 1, descending=d))(_d), arr((3, 5), F64))
    case(f"sort_stable_desc{_d}", (lambda d: lambda L, x: L.sort(x, dim=0, descending=d, stable=True))(_d),
         np.array([[1, 2], [1, 0], [0, 2], [1, 2]], dtype=np.int64))
    case(f"argsort_stable{_d}", (lambda d: lambda L, x: L.argsort(x, descending=d, stable=True))(_d),
         np.array([3.0, 1.0, 3.0, 2.0, 1.0, np.nan, 3.0]))
    case(f"topk_largest{_d}", (lambda d: lambda L, x: L.topk(x, 2, 1, largest=d))(_d), arr((3, 5), F64))
case("kthvalue", lambda L, x: L.kthvalue(x, 2, 1), arr((3, 5), F64))
case("median_all", lambda L, x: L.median(x), arr((3, 5), F64))
case("median_even", lambda L, x: L.median(x, 1), arr((3, 4), F64))
case("msort", lambda L, x: L.msort(x), arr((3, 4), F64))
case("unique", lambda L, x: L.unique(x), np.array([3, 1, 2, 3, 1]))
case("unique_counts", lambda L, x: L.unique(x, return_inverse=True, return_counts=True), np.array([3, 1, 2, 3, 1]))
case("bincount", lambda L, x: L.bincount(x), np.array([0, 1, 1, 3]))
case("searchsorted", lambda L, s, v: L.searchsorted(s, v), np.array([1.0, 2.0, 3.0, 5.0]), np.array([0.5, 2.0, 4.0]))
case("bucketize", lambda L, v, s: L.bucketize(v, s), np.array([0.5, 2.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0]))
case("histc", lambda L, x: L.histc(x, bins=4, min=-2, max=2), arr((20,), F32))
