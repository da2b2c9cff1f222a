"""Shared helpers for the autograd engine tests."""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

import autograd

# Test modules import these helpers as ``_autograd_testutil`` (a unique name, so a
# ``conftest`` module from another test folder can never shadow this one).
sys.modules.setdefault("_autograd_testutil", sys.modules[__name__])


def leaf(*shape, seed=0, low=-1.0, high=1.0, away=0.0, noncontig=False, requires_grad=True):
    """A seeded float64 leaf tensor of ``shape``.

    ``away`` keeps every value at least that far from 0 (avoids the kinks of
    abs/relu/clamp); ``noncontig`` gives the leaf a transposed (non-C-contiguous) buffer.
    """
    rng = np.random.default_rng(seed)
    if noncontig and len(shape) >= 2:
        arr = rng.uniform(low, high, shape[::-1]).T
        assert not arr.flags.c_contiguous
    else:
        arr = rng.uniform(low, high, shape)
    if away:
        arr = np.where(arr >= 0, arr + away, arr - away)
    t = autograd.from_numpy(np.asarray(arr, dtype=np.float64))
    return t.requires_grad_(requires_grad)


@contextlib.contextmanager
def num_threads(n: int):
    """autograd's thread count set to ``n`` within the block (the machine's default after)."""
    from autograd.nn.functional import _im2col
    autograd.set_num_threads(n)
    try:
        yield
    finally:
        autograd.set_num_threads(_im2col._nthreads())


def pos(*shape, seed=0, low=0.5, high=2.0, **kw):
    """A seeded float64 leaf with values in [low, high) (for log, sqrt, division ...)."""
    return leaf(*shape, seed=seed, low=low, high=high, **kw)


def check(fn, *inputs, gradgrad=True, atol=1e-5, rtol=1e-3):
    """gradcheck (and gradgradcheck) of ``fn`` at ``inputs``."""
    assert autograd.gradcheck(fn, inputs, eps=1e-6, atol=atol, rtol=rtol)
    if gradgrad:
        assert autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=atol, rtol=rtol)


def assert_close(a, b, atol=1e-6, rtol=1e-6):
    a = a.detach().numpy() if isinstance(a, autograd.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, autograd.Tensor) else np.asarray(b)
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests must not leak grad mode, anomaly mode or the default dtype."""
    yield
    from autograd._grad_mode import _set_enabled
    _set_enabled(True)
    autograd.set_detect_anomaly(False)
    autograd.set_default_dtype(autograd.float32)
