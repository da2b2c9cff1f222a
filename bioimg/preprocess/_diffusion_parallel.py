"""Multi-threaded driver of the diffusion kernel (internal).

The compiled kernel (``_diffusion_jit``, where numba is installed) releases
the GIL for a whole iteration. The numpy kernel releases it inside each
ufunc, but handing the GIL over and waiting at barriers costs tens of
microseconds on small VMs, as much as a whole ufunc on a cache-sized block,
so it gets threads only for large images. Either way each thread owns whole
items, or a band of rows of an item plus private copies (*halos*) of its
neighbours' edge rows, and advances a *round* of several iterations on its
own; edge rows are exchanged through double-buffered arrays at one barrier
per round. With zero flux assumed at the far end of a halo of ``h`` rows,
the error travels one row per iteration, so the band stays exact for a round
of ``h`` iterations.
"""
from __future__ import annotations

import os
import threading
from typing import Callable

import numpy as np

from . import _diffusion_jit as jit
from ._diffusion_kernel import Kernel, Params

SYNC_SECONDS = 2e-4  # measured cost of one barrier with 2 threads on a VM
SECONDS_PER_ELEMENT = 2.5e-9  # one iteration, one thread, float32 (numpy kernel)
MIN_ELEMENTS_PER_THREAD = 1 << 20  # smaller images: one thread is as fast (GIL hand-offs)
THREAD_UNIT_BYTES = 1 << 22  # longer ufunc calls: fewer GIL hand-offs per element
JIT_SECONDS_PER_ELEMENT = 1.3e-9  # the same for the compiled kernel
JIT_MIN_ELEMENTS_PER_THREAD = 1 << 16  # a thread start costs ~0.1 ms


def _kernel(block, prm: Params, halo=(0, 0), unit_bytes=None):
    if jit.available(prm.dtype, len(prm.dims)):
        return jit.JitKernel(block, prm, halo)
    return Kernel(block, prm, halo, unit_bytes)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Task:
    """What one thread advances: whole items in place, or a band with halos."""

    def __init__(self, src, out, prm, items=None, band=None, halo=(0, 0), unit_bytes=None):
        self.prm = prm
        if band is None:  # items [b0, b1): computed in place in `out`
            b0, b1 = items
            self.load_src, self.P = src[b0:b1], out[b0:b1]
            self.dst, self.kernel = None, _kernel(self.P, prm, unit_bytes=unit_bytes)
            self.top = self.bot = None
            return
        it, a, b = band
        ht, hb = halo
        self.ht, self.nb = ht, b - a
        self.load_src = src[it:it + 1, a - ht:b + hb]
        self.P = np.empty(self.load_src.shape, prm.dtype)
        self.dst = out[it:it + 1, a:b]
        self.kernel = _kernel(self.P, prm, (ht, hb), unit_bytes)
        self.top = self.bot = None  # exchange buffers (2, h, ...) shared with neighbours

    def load(self) -> None:
        np.multiply(self.load_src, self.prm.scale, out=self.P, casting="unsafe",
                    dtype=self.prm.dtype)

    def store(self) -> None:
        if self.dst is None:
            np.divide(self.P, self.prm.scale, out=self.P)
        else:
            np.divide(self.P[:, self.ht:self.ht + self.nb], self.prm.scale, out=self.dst)

    def publish(self, p: int) -> None:  # my edge rows, for my neighbours' halos
        if self.top is None and self.bot is None:
            return
        ht, nb = self.ht, self.nb
        if self.top is not None:
            self.top[1][p][...] = self.P[0, ht:ht + self.top[1].shape[1]]
        if self.bot is not None:
            self.bot[0][p][...] = self.P[0, ht + nb - self.bot[0].shape[1]:ht + nb]

    def refresh(self, p: int) -> None:
        if self.top is not None:
            self.P[0, :self.ht] = self.top[0][p]
        if self.bot is not None:
            self.P[0, self.ht + self.nb:] = self.bot[1][p]


def _rounds(niter: int, halo_row: float, max_rows: int, cap: int) -> list[int]:
    """Split ``niter`` into rounds of at most ``min(max_rows, cap)`` iterations.

    Minimises the modelled overhead: halo rows recomputed (``halo_row``
    seconds per row and iteration) plus one barrier per extra round.
    """
    best = None
    for R in range(1, niter + 1):
        w = -(-niter // R)
        if w > max(1, max_rows) or w > cap:
            continue
        cost = R * (w - 1) * 2 * w * halo_row + (R - 1) * SYNC_SECONDS
        if best is None or cost < best[0]:
            best = (cost, R)
    R = best[1] if best else niter
    return [niter // R + (i < niter % R) for i in range(R)]


def run(src: np.ndarray, out: np.ndarray, prm: Params, niter: int, workers: int | None = None,
        progress: Callable[[int, int], object] | None = None,
        cancel: Callable[[], bool] | None = None) -> int:
    """Diffuse ``src`` ``(B, S0, ...)`` into C-contiguous ``out``; return iterations done."""
    if cancel is not None and cancel():
        np.copyto(out, src, casting="unsafe")
        return 0
    B, S0 = src.shape[:2]
    total = src.size
    workers = cpu_count() if workers is None else int(workers)
    fast = jit.available(prm.dtype, len(prm.dims))
    per_element = JIT_SECONDS_PER_ELEMENT if fast else SECONDS_PER_ELEMENT
    min_elements = JIT_MIN_ELEMENTS_PER_THREAD if fast else MIN_ELEMENTS_PER_THREAD
    workers = max(1, min(workers, total // min_elements, max(B, S0)))
    t_iter = total / workers * per_element
    cap = niter if cancel is None else max(1, int(0.2 / max(t_iter, 1e-9)))
    if workers == 1:
        tasks, rounds = [[_Task(src, out, prm, items=(0, B))]], [1] * niter
    elif B >= workers:
        cuts = [round(i * B / workers) for i in range(workers + 1)]
        tasks = [[_Task(src, out, prm, items=(cuts[i], cuts[i + 1]), unit_bytes=THREAD_UNIT_BYTES)]
                 for i in range(workers)]
        rounds = _rounds(niter, 0.0, niter, cap)
    else:
        cuts = [round(i * S0 / workers) for i in range(workers + 1)]
        row = prm.st[0] * B * per_element
        rounds = _rounds(niter, row, int(min(np.diff(cuts))), cap)
        h = max(rounds) if rounds else 0
        tasks = [[] for _ in range(workers)]
        for it in range(B):
            for i in range(workers):
                ht, hb = (h if i else 0), (h if i < workers - 1 else 0)
                tasks[i].append(_Task(src, out, prm, band=(it, cuts[i], cuts[i + 1]),
                                      halo=(ht, hb), unit_bytes=THREAD_UNIT_BYTES))
            for i in range(workers - 1):  # (upper's last rows, lower's first rows)
                up, lo = tasks[i][-1], tasks[i + 1][-1]
                xb = tuple(np.empty((2, h) + src.shape[2:], prm.dtype) for _ in range(2))
                up.bot = lo.top = xb
    return _drive(tasks, rounds, niter, progress, cancel)


def _drive(tasks, rounds, niter, progress, cancel) -> int:
    """Run the rounds on one thread per task list (the caller's is worker 0)."""
    nw = len(tasks)
    barrier = threading.Barrier(nw)
    # "stop" holds the round after which worker 0 saw cancel(): a slow worker
    # may test it at the start of a round that a fast worker 0 already finished.
    state = {"stop": len(rounds), "done": 0, "error": None}

    def work(wid: int) -> None:
        mine = tasks[wid]
        try:
            with np.errstate(over="ignore"):
                for t in mine:
                    t.load()
                for r, n in enumerate(rounds):
                    if state["stop"] < r:
                        break
                    if r:
                        for t in mine:
                            t.refresh((r - 1) % 2)
                    for i in range(n):
                        for t in mine:
                            t.kernel.step(update_halo=i < n - 1)
                        if wid == 0:
                            state["done"] += 1
                            if progress is not None:
                                progress(state["done"], niter)
                    if r < len(rounds) - 1:
                        for t in mine:
                            t.publish(r % 2)
                        if wid == 0 and cancel is not None and cancel():
                            state["stop"] = r  # all stop after this round's barrier
                        if nw > 1:
                            barrier.wait()
                for t in mine:
                    t.store()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            if not isinstance(exc, threading.BrokenBarrierError):
                state["error"] = state["error"] or exc
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(1, nw)]
    for th in threads:
        th.start()
    work(0)
    for th in threads:
        th.join()
    if state["error"] is not None:
        raise state["error"]
    return state["done"]
