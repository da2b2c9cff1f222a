"""Shared pieces of the PyTorch oracle sweep: seeded inputs, the case list, helpers.

A case is ``(name, fn, inputs, grad)``: ``fn(lib, *tensors)`` is called once with ``lib``
the ``torch`` module and once with ``autograd``; see ``_oracle_harness.run_case``.
"""
from __future__ import annotations

import numpy as np

R = np.random.default_rng(1234)
F32, F64, I64, I32, U8, B = np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_

def arr(shape, dtype=F32, low=-2.0, high=2.0, away=0.0):
    if dtype == B:
        return R.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" else int(low) - 3
        return R.integers(lo, int(high) + 4, shape).astype(dtype)
    a = R.uniform(low, high, shape)
    if away:
        a = np.where(a >= 0, a + away, a - away)
    return a.astype(dtype)

CASES: list = []

def case(name, fn, *inputs, grad=True):
    CASES.append((name, fn, inputs, grad))

def _setitem(L, x, key, value):
    y = x * 1
    y[key] = value
    return y

def _iop(x, name, other):
    return getattr(x.clone(), name)(other)
