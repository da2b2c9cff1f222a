"""Fused Perona-Malik steps compiled with numba (internal; float32, 1-3 spatial axes).

The numpy kernel (``_diffusion_kernel``) makes about 13 passes over memory per
element and iteration, one ufunc call each; this one makes one sweep, reading
each value once and writing it once, and releases the GIL for a whole
iteration, so threads scale where numpy's per-call GIL hand-offs do not.

Same scaled state and constants as :class:`~._diffusion_kernel.Params`, so the
two kernels are interchangeable (results agree to float32 rounding). A block
``(k, n, *S)`` is swept along axis 0 one slab at a time, in place: the flux
between slabs ``i`` and ``i+1`` is computed from old values before slab ``i``
is updated, and carried to slab ``i+1``.

The compiled code (numba) is in ``_diffusion_sweep``, imported on first use
so that ``import bioimg`` stays fast.
"""
from __future__ import annotations

import importlib.util
import math
import threading
import warnings

import numpy as np

ENABLED = importlib.util.find_spec("numba") is not None  # numba is imported on first use
_lock = threading.Lock()
_compiled: dict = {}

# 2^-f = exp(-f ln2): Taylor coefficients (ln2)^k / k! with alternating sign;
# |f| <= 1/2 keeps the truncation error below 1e-8 relative.
TAYLOR_2_POW_MINUS = [(-math.log(2)) ** k / math.factorial(k) for k in range(8)]


def available(dtype, ndim: int) -> bool:
    """Whether the compiled kernel handles this dtype and spatial rank."""
    return ENABLED and np.dtype(dtype) == np.float32 and 1 <= ndim <= 3 and _kernel() is not None


def _kernel():
    """The compiled sweep (numba imported and the function built on first call), or None."""
    global ENABLED
    with _lock:
        if "sweep" not in _compiled:
            try:
                from ._diffusion_sweep import sweep  # imports numba
                _warm_up(sweep)  # compiles (or loads the cached machine code) here, not mid-run
                _compiled["sweep"] = sweep
            except Exception as exc:  # noqa: BLE001 - a broken numba install: fall back
                ENABLED = False
                _compiled["sweep"] = None
                warnings.warn(f"numba could not be used ({exc}); anisotropic_diffusion falls back "
                              "to its slower numpy kernel", RuntimeWarning, stacklevel=3)
        return _compiled["sweep"]


def _warm_up(sweep) -> None:
    s = np.arange(4, dtype=np.float32).reshape(1, 2, 1, 2)
    one = np.ones(3, np.float32)
    f2, f1 = np.empty((1, 2), np.float32), np.empty(3, np.float32)
    sweep(s, 0, 2, one, one, np.float32(0.1), np.float32(1.0), 1, f2, f2.copy(), f1, f1.copy(), f1.copy())


class JitKernel:
    """Drop-in for :class:`~._diffusion_kernel.Kernel` (``step(update_halo)``).

    ``block`` (k, n, *S) is swept as (k, n, P, Q): a 2-D slab is (1, S1), a 1-D
    one (1, 1). ``unit_bytes`` is accepted for the same signature and unused.
    """

    def __init__(self, block: np.ndarray, prm, halo: tuple[int, int] = (0, 0),
                 unit_bytes: int | None = None):
        k, n = block.shape[:2]
        rest = block.shape[2:]
        nd = len(prm.dims)
        # the slab of a 1-D or 2-D block as (P, Q) = (1, 1) or (1, S1)
        P, Q = ((1,) * (3 - nd) + tuple(rest))[-2:] if nd > 1 else (1, 1)
        self.s = block.reshape(k, n, P, Q)
        axes = list(range(nd)) if nd == 3 else ([0, None, 1] if nd == 2 else [0, None, None])
        one = np.float32(1.0)
        self.r = np.array([prm.r[j] if j is not None else one for j in axes], np.float32)
        self.c = np.array([prm.c[j] if j is not None else one for j in axes], np.float32)
        self.gam = np.float32(prm.gam)
        self.lg = np.float32(1.0 if prm.use_exp2 or prm.option == 2 else math.log2(math.e))
        self.option = int(prm.option)
        self.ht, self.hb, self.n = halo[0], halo[1], n
        self.fa, self.fb = np.empty((P, Q), np.float32), np.empty((P, Q), np.float32)
        self.fp0, self.fp1 = np.empty(Q, np.float32), np.empty(Q, np.float32)
        self.fq = np.empty(Q + 1, np.float32)
        self.active = bool(prm.active)
        self._sweep = _kernel()

    def step(self, update_halo: bool = True) -> None:
        """One iteration, in place (halo slabs kept as they are if not ``update_halo``)."""
        if not self.active:
            return
        lo, hi = (0, self.n) if update_halo else (self.ht, self.n - self.hb)
        self._sweep(self.s, lo, hi, self.r, self.c, self.gam, self.lg, self.option,
                    self.fa, self.fb, self.fp0, self.fp1, self.fq)
