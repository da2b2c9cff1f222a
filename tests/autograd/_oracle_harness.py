"""Differential checks of autograd ops against PyTorch (an OpInfo-style sweep).

``fn(lib, *tensors)`` runs with ``lib`` = ``torch`` and with ``autograd``; inputs are
numpy arrays or Python values (arrays become tensors of each library; float arrays
require grad). Compared: shape, dtype, values, raised error type, and the gradient of
``sum(out * w)`` for a fixed ``w``. The cases live in ``_oracle_cases_*.py``.

Run ``python tests/autograd/_oracle_harness.py [-v]`` to print the pass counts.
"""
from __future__ import annotations

import builtins as _bi

import numpy as np

import _oracle_cases_elementwise  # noqa: F401  (registers cases)
import _oracle_cases_shape  # noqa: F401
import _oracle_cases_surface  # noqa: F401
from _oracle_base import CASES  # noqa: F401

_TOL = {"float16": (1e-2, 1e-2), "float32": (2e-4, 2e-5), "float64": (1e-7, 1e-9)}


def _to(L, v, is_torch):
    if isinstance(v, np.ndarray):
        t = L.tensor(v.copy())
        if v.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return v


def _dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _flat(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def _builtin_exc(exc_type):
    for k in exc_type.__mro__:
        if k.__module__ == "builtins":
            return k
    return Exception


def run_case(torch, autograd, name, fn, inputs, grad):
    """Return a list of (check, ok, detail)."""
    import warnings
    res = []
    tin = [_to(torch, v, True) for v in inputs]
    ain = [_to(autograd, v, False) for v in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tout = fn(torch, *tin)
            terr = None
        except Exception as e:  # noqa: BLE001
            tout, terr = None, e
        try:
            aout = fn(autograd, *ain)
            aerr = None
        except Exception as e:  # noqa: BLE001
            aout, aerr = None, e
    if terr is not None or aerr is not None:
        if isinstance(terr, TypeError) and "must be Tensor, not" in str(terr):
            return [("lenient", True, "a Python scalar accepted where torch wants a Tensor")]
        if terr is None:
            return [("call", False, f"autograd raised {type(aerr).__name__}: {aerr}")]
        if aerr is None:
            return [("raises", False, f"torch raised {type(terr).__name__}: {str(terr)[:80]}; autograd did not")]
        want = _builtin_exc(type(terr))
        ok = isinstance(aerr, want)
        return [("error_type", ok, f"torch {want.__name__}, autograd {type(aerr).__name__}: {aerr}")]
    if grad == "error":
        return [("raises", False, "torch did not raise")]
    tf, af = _flat(tout), _flat(aout)
    if len(tf) != len(af):
        return [("structure", False, f"{len(tf)} outputs vs {len(af)}")]
    for i, (t, a) in enumerate(zip(tf, af)):
        if isinstance(t, torch.Tensor):
            if not isinstance(a, autograd.Tensor):
                res.append((f"type{i}", False, f"autograd gave {type(a).__name__}"))
                continue
            res.append((f"shape{i}", tuple(t.shape) == tuple(a.shape), f"{tuple(t.shape)} vs {tuple(a.shape)}"))
            res.append((f"dtype{i}", _dtype_name(t) == _dtype_name(a), f"{t.dtype} vs {a.dtype}"))
            if tuple(t.shape) == tuple(a.shape):
                tv = t.detach().numpy().astype(np.float64)
                av = np.asarray(a.detach()._data, dtype=np.float64)
                rtol, atol = _TOL.get(_dtype_name(t), (0, 0))
                ok = np.allclose(tv, av, rtol=rtol, atol=atol, equal_nan=True)
                res.append((f"value{i}", ok, "" if ok else f"max diff {np.nanmax(np.abs(tv - av)) if tv.size else 0}"))
        elif isinstance(t, (torch.Size, tuple)):
            res.append((f"value{i}", tuple(t) == tuple(a), f"{t} vs {a}"))
        else:
            ok = (t == a) or (isinstance(t, float) and np.isclose(t, a))
            res.append((f"value{i}", _bi.bool(ok), f"{t!r} vs {a!r}"))
    if not grad:
        return res
    # gradients of sum(out * w)
    touts = [t for t in tf if isinstance(t, torch.Tensor) and t.requires_grad]
    tleaves = [(k, t) for k, t in enumerate(tin) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not touts or not tleaves:
        return res
    aouts = [a for t, a in zip(tf, af) if isinstance(t, torch.Tensor) and t.requires_grad]
    rng = np.random.default_rng(7)
    ws = [rng.uniform(0.5, 1.5, tuple(t.shape)) for t in touts]
    tl = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(touts, ws))
    try:
        tg = torch.autograd.grad(tl, [t for _, t in tleaves], allow_unused=True)
    except RuntimeError:  # not differentiable in torch (floor_divide...): nothing to compare
        return res
    try:
        if not all(isinstance(a, autograd.Tensor) and a.requires_grad for a in aouts):
            res.append(("grad", False, "autograd output does not require grad"))
            return res
        al = sum((a * autograd.tensor(w, dtype=a.dtype)).sum() for a, w in zip(aouts, ws))
        ag = autograd.autograd.grad([al], [ain[k] for k, _ in tleaves], allow_unused=True)
    except Exception as e:  # noqa: BLE001
        res.append(("grad", False, f"autograd backward raised {type(e).__name__}: {e}"))
        return res
    for j, (g1, g2) in enumerate(zip(tg, ag)):
        v1 = np.zeros(tuple(tleaves[j][1].shape)) if g1 is None else g1.numpy(force=True).astype(np.float64)
        v2 = np.zeros(v1.shape) if g2 is None else np.asarray(g2._data, dtype=np.float64)
        rtol, atol = _TOL.get(_dtype_name(tleaves[j][1]), (1e-7, 1e-9))
        ok = v1.shape == v2.shape and np.allclose(v1, v2, rtol=rtol * 10, atol=atol * 10, equal_nan=True)
        res.append((f"grad{j}", _bi.bool(ok), "" if ok else f"torch {v1.ravel()[:4]} vs {v2.ravel()[:4]}"))
    return res


def sweep(verbose=False):
    import torch

    import autograd
    total = passed = 0
    failing = {}
    for name, fn, inputs, grad in CASES:
        checks = run_case(torch, autograd, name, fn, inputs, grad)
        for chk, ok, detail in checks:
            total += 1
            passed += _bi.bool(ok)
            if not ok:
                failing.setdefault(name, []).append(f"{chk}: {detail}")
    if verbose:
        for n, f in failing.items():
            print(n, "|", "; ".join(f)[:300])
    print(f"checks passed: {passed}/{total} ({100.0 * passed / max(total, 1):.1f}%); "
          f"cases failing: {len(failing)}/{len(CASES)}")
    return failing


if __name__ == "__main__":
    import sys
    sweep(verbose="-v" in sys.argv)
