"""Fast explicit Perona-Malik steps on one thread: cache-blocked, in place.

Internal to :func:`bioimg.preprocess.anisotropic_diffusion`. The array is
viewed as ``(B, S0, S1, ...)``: ``B`` independent items of ``d`` spatial axes.

* **Blocking**: a block is cut into *units* of contiguous rows small enough
  that a unit and its scratch buffers stay in the L2 cache (2x faster per
  element than arrays that spill), and every ufunc runs on flat contiguous
  1-D views. The fluxes of all axes of a unit share one buffer (when it
  still fits the cache), so each conductance ufunc is called once per unit,
  not once per axis.
* **In place**: units are updated in order; a unit computes the flux across
  its far border (to the next unit's first row, still old) and hands it to
  the next unit, so no second copy of the volume is needed.
* **Arithmetic**: the state is kept scaled by ``sqrt(log2 e) / (kappa h)``
  so that option 1's flux ``d exp(-(d/kappa)^2)`` is ``t / exp2(t^2)`` with
  ``t`` the scaled difference: square, exp2, divide; no negation or scaling
  pass. ``exp2`` is twice as fast as ``exp`` but takes a slow path on
  overflow, so it is used only when the value range rules overflow out
  (else ``exp`` and a ``1 / kappa`` scale).
"""
from __future__ import annotations

import math

import numpy as np

UNIT_BYTES = 1 << 20  # per unit: data + flux + scratch buffers, fits L2


class Params:
    """Scaled constants of ``s += gam sum_j c_j D-_j[g(r_j D+_j s) D+_j s]``."""

    def __init__(self, dims, spacing, kappa, gamma, option, dtype, value_range=None):
        dt = np.dtype(dtype).type
        self.dims, self.option, self.dtype = tuple(dims), option, np.dtype(dtype)
        self.active = [j for j, n in enumerate(dims) if n > 1]
        h_act = [spacing[j] for j in self.active] or [1.0]
        h_ref = max(set(h_act), key=lambda h: (h_act.count(h), h_act.index(h)))
        # Option 1 uses exp2 (twice as fast as exp here) when the values cannot
        # overflow it: the stable scheme stays within [min, max], so |r t| <=
        # r (max - min) scaled. Else exp, whose overflow to inf (g = 0) is fast.
        r_rel = max([h_ref / spacing[j] for j in self.active] or [1.0])
        span = np.inf if value_range is None else float(value_range[1] - value_range[0])
        self.use_exp2 = option == 1 and (span * r_rel / (kappa * h_ref)) ** 2 * math.log2(math.e) <= 120
        unit = math.sqrt(math.log2(math.e)) if self.use_exp2 else 1.0
        # Keep the scaled state well inside float32 range whatever kappa is.
        raw = unit / (kappa * h_ref)
        self.scale = min(max(raw, 1e-30), 1e30)
        fix = 1.0 if self.scale == raw else raw / self.scale  # exactly 1 unless clamped
        self.r = [dt(fix * h_ref / h) for h in spacing]
        self.c = [dt(h_ref**2 / h**2) for h in spacing]
        self.gam = dt(gamma / h_ref**2)
        self.st = [int(np.prod(dims[j + 1:], dtype=np.int64)) for j in range(len(dims))]
        self.same_r = all(self.r[j] == 1 for j in self.active)

    def flux_ops(self, t: np.ndarray, w: np.ndarray, segs: list[tuple[int, slice]]) -> list:
        """Calls making ``t := c g(r t) t`` on the segments ``segs`` = [(axis, slice)]."""
        ops: list = []
        if self.same_r:
            ops.append((np.square, (t, w)))
        else:
            for j, sl in segs:
                if self.r[j] == 1:
                    ops.append((np.square, (t[sl], w[sl])))
                else:
                    ops += [(np.multiply, (t[sl], self.r[j], w[sl])), (np.square, (w[sl], w[sl]))]
        if self.use_exp2:
            ops.append((np.exp2, (w, w)))  # 1 / g
        elif self.option == 1:
            ops.append((np.exp, (w, w)))  # 1 / g; inf where g underflows: t / inf = 0
        else:
            ops.append((np.add, (w, self.dtype.type(1), w)))  # 1 / g
        ops.append((np.divide, (t, w, t)))
        ops += [(np.multiply, (t[sl], self.c[j], t[sl])) for j, sl in segs if self.c[j] != 1]
        return ops


class _Unit:
    def __init__(self, block: np.ndarray, halo: bool = False):
        self.s = block.reshape(-1)
        self.shape = block.shape  # (k, n, S1, ...)
        self.halo = halo
        self.nxt: np.ndarray | None = None  # first row of the next unit of the same item
        self.has_prev = False  # a unit of the same item comes before
        self.prog: list = []  # the calls of one update, views bound once
        self.border: list = []  # the calls of the far-border flux only


class Kernel:
    """Single-thread steps on a C-contiguous ``block`` of shape ``(k, n, *S)``.

    ``halo=(ht, hb)``: the first ``ht`` and last ``hb`` rows (one item) are
    halo units, which can be left out of the last step of a round.
    """

    def __init__(self, block: np.ndarray, prm: Params, halo: tuple[int, int] = (0, 0),
                 unit_bytes: int | None = None):
        self.prm = prm
        k, n = block.shape[:2]
        st0 = prm.st[0]
        unit_bytes = UNIT_BYTES if unit_bytes is None else unit_bytes
        target = max(1, unit_bytes // (prm.dtype.itemsize * (2 * len(prm.active) + 1)))
        self.units: list[_Unit] = []
        ht, hb = halo
        if not (ht or hb) and (n * st0 <= target or n == 1):
            per = max(1, target // max(n * st0, 1))  # whole items per unit
            self.units = [_Unit(block[b:b + per]) for b in range(0, k, per)]
        else:
            nb = min(n - ht - hb, -(-(n - ht - hb) * st0 // target))
            cuts = [ht + round(i * (n - ht - hb) / nb) for i in range(nb + 1)]
            edges = [(a, b, False) for a, b in zip(cuts[:-1], cuts[1:])]
            edges = ([(0, ht, True)] if ht else []) + edges + ([(n - hb, n, True)] if hb else [])
            for it in range(k):
                for i, (a, b, is_halo) in enumerate(edges):
                    u = _Unit(block[it:it + 1, a:b], is_halo)
                    if i:
                        self.units[-1].nxt = block[it, a:a + 1].reshape(-1)
                        u.has_prev = True
                    self.units.append(u)
        m = max(u.s.size for u in self.units)
        # Axes whose fluxes share one buffer (fewer, longer calls) as long as
        # data + fluxes + scratch (+ divergence) of a unit still fit the budget.
        na = max(1, len(prm.active))
        g = na
        while g > 1 and (2 * g + 1 + (g < na)) * m * prm.dtype.itemsize > unit_bytes:
            g -= 1
        self.group = g
        self.t = np.empty(g * m, prm.dtype)
        self.w = np.empty(g * m, prm.dtype)
        self.acc = self.w[:m] if g == na else np.empty(m, prm.dtype)
        carry = np.empty((2, st0), prm.dtype)  # border flux, handed to the next unit
        for i, u in enumerate(self.units):
            f_in = carry[i % 2] if u.has_prev else None
            f_out = carry[(i + 1) % 2] if u.nxt is not None else None
            if prm.active:
                u.prog = self._program(u, f_in, f_out)
            if f_out is not None:
                L = u.s.size
                u.border = [(np.subtract, (u.nxt, u.s[L - st0:], f_out))]
                u.border += prm.flux_ops(f_out, self.w[:st0], [(0, slice(None))])

    def step(self, update_halo: bool = True) -> None:
        """One iteration, in place (halo units kept as they are if not ``update_halo``)."""
        for u in self.units:
            for f, args in (u.prog if update_halo or not u.halo else u.border):
                f(*args)

    def _program(self, u: _Unit, f_in: np.ndarray | None, f_out: np.ndarray | None) -> list:
        prm, s, L = self.prm, u.s, u.s.size
        acc = self.acc[:L]
        ops: list = []
        for g0 in range(0, len(prm.active), self.group):
            axes = prm.active[g0:g0 + self.group]
            t, w = self.t[: len(axes) * L], self.w[: len(axes) * L]
            segs = []
            for q, j in enumerate(axes):
                st, tq = prm.st[j], t[q * L:(q + 1) * L]
                m = L - st
                ops.append((np.subtract, (s[st:], s[:m], tq[:m])))
                if j == 0:
                    if u.nxt is not None:
                        ops.append((np.subtract, (u.nxt, s[m:], tq[m:])))
                    else:
                        ops.append((tq[m:].fill, (0,)))
                    if u.shape[0] > 1:  # whole items side by side: no flux between them
                        ops.append((tq.reshape(u.shape)[:, -1].fill, (0,)))
                else:
                    ops.append((tq.reshape(u.shape)[(slice(None),) * (j + 1) + (-1,)].fill, (0,)))
                segs.append((j, slice(q * L, (q + 1) * L)))
            ops += prm.flux_ops(t, w, segs)
            # divergence: backward difference of the flux, accumulated in acc
            for q, j in enumerate(axes):
                st, tq = prm.st[j], t[q * L:(q + 1) * L]
                m = L - st
                if g0 == 0 and q == 0:  # the first axis sets acc (axis 0 if it is active)
                    if f_out is not None:
                        ops.append((np.copyto, (f_out, tq[m:])))
                    ops.append((np.subtract, (tq[st:], tq[:m], acc[st:])))
                    if f_in is not None:
                        ops.append((np.subtract, (tq[:st], f_in, acc[:st])))
                    else:
                        ops.append((np.copyto, (acc[:st], tq[:st])))
                else:
                    ops.append((np.add, (acc, tq, acc)))
                    ops.append((np.subtract, (acc[st:], tq[:m], acc[st:])))
        ops.append((np.multiply, (acc, prm.gam, acc)))
        ops.append((np.add, (s, acc, s)))
        return ops
