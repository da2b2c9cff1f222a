"""Building blocks of the convolution kernels: geometry, workspaces, threads, im2col/col2im.

Layout: a chunk of output rows (of one sample, or of ``m`` whole small samples)
is unfolded into a column matrix ``col[(c, k), (n, p)]`` (C*K rows) with ONE
strided copy (``as_strided`` windows), so each chunk is one GEMM per group.
Stride-1 convolutions use the *flat-shift* trick: in the zero-padded input
flattened per channel, the window element at kernel offset ``k`` of output
position ``p`` is ``xp_flat[off_k + p]``, so im2col rows are long contiguous
runs and col2im is k^d long contiguous adds; that output grid keeps the padded
row length (a few wasted columns) and is cropped per chunk, fused with the bias
add. Strided convolutions use strided window views of the real outputs only.

Speed: numpy copies here are memory-bound and a GEMM writing fresh pages stalls,
so each core runs its own pipeline (fill padded sample -> im2col -> GEMM ->
crop / col2im) on chunks of at most ``CHUNK_BYTES`` of columns, with BLAS pinned
to one thread meanwhile and per-thread scratch buffers that grow to the largest
size seen (a step allocates only its results; im2col memory is bounded by
threads x ``CHUNK_BYTES``, whatever the volume). The (sample, row) space is split
into ``PARTS`` equal parts, a number fixed by the machine whatever the thread count, and the
threads share out whole parts; weight gradients are summed per part and the
parts then added in part order, and input-gradient rows that straddle two
parts are summed after the join in part order. So the result is bitwise the
same with 1, 2 or 8 threads (only which thread computes a part changes).
"""
from __future__ import annotations

import ctypes
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__: list = []

CHUNK_BYTES = 8 << 20          # column-matrix chunk per thread when threads run the GEMMs
COL_BUDGET = 16 << 20          # chunk when BLAS threads run the GEMMs (no BLAS thread control)
_local = threading.local()
_lock = threading.Lock()
_pool = None


def _nthreads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


_NT = _nthreads()


def set_threads(n: int) -> None:
    """Use ``n`` threads from now on (``autograd.set_num_threads``); call between steps."""
    global _NT, _pool
    n = int(n)
    if n < 1:
        raise ValueError(f"number of threads must be >= 1, got {n}")
    with _lock:
        _NT, old, _pool = n, _pool, None
    if old is not None:
        old.shutdown(wait=False)


def _blas_threads_api():
    """(get, set) of the OpenBLAS thread count numpy uses, or None when not controllable."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
        for path in libs:
            lib = ctypes.CDLL(path)
            for suffix in ("scipy_openblas_%s_num_threads64_", "scipy_openblas_%s_num_threads",
                           "openblas_%s_num_threads64_", "openblas_%s_num_threads"):
                if hasattr(lib, suffix % "set") and hasattr(lib, suffix % "get"):
                    get, set_ = getattr(lib, suffix % "get"), getattr(lib, suffix % "set")
                    get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, set_
    except OSError:  # pragma: no cover
        pass
    return None


_BLAS = _blas_threads_api()
_blas_users = [0, 1]  # active parallel sections, saved thread count


def pool():
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max(1, _NT - 1), thread_name_prefix="autograd-nn")
    return _pool


def _after_fork_in_child() -> None:
    """A forked child (e.g. a data-loader worker) has no pool threads: start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()
    _blas_users[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


MIN_PARALLEL_MACS = 1 << 23    # smaller convolutions run in the calling thread
# Large convolutions are cut into this many parts whatever the number of threads
# in use, so the order of every floating-point sum, and so the trained weights, do
# not depend on the thread count, CPU affinity or ``set_num_threads``. The number
# is a property of the machine (its logical CPUs, 2..8) rather than a constant 8:
# more, smaller GEMMs than threads cost ~10 % of a 3D U-Net step on 2 cores.
PARTS = max(2, min(os.cpu_count() or 2, 8))


def threads_for_gemm(macs: int = 1 << 62) -> int:
    """Parts the GEMM pipelines of a convolution are cut into (``PARTS``; 1 when BLAS
    threads cannot be pinned or the work, ``macs`` multiply-adds, is too small to pay
    for a thread hand-off). Never depends on the thread count: see ``PARTS``."""
    return PARTS if _BLAS is not None and macs >= MIN_PARALLEL_MACS else 1


def run_threads(fn, parts) -> list:
    """``[fn(part) for part in parts]`` (empty parts skipped), the parts shared out in
    contiguous runs over up to ``_NT`` threads, with single-threaded BLAS meanwhile.

    The results come back in part order, whichever thread finished first, so
    callers that sum them get the same bits with any number of threads.
    """
    parts = [p for p in parts if p]
    nt = min(_NT, len(parts))
    runs = [parts[len(parts) * t // nt: len(parts) * (t + 1) // nt] for t in range(nt)]
    # BLAS is pinned to one thread even when one thread runs every part: OpenBLAS
    # sums some products in another order with several threads (measured: 1 vs 2
    # threads changes ~10% of random sgemm shapes, small ones too), and the
    # thread count must not change the result.
    with _lock:
        if _blas_users[0] == 0 and _BLAS is not None:
            _blas_users[1] = _BLAS[0]()
            _BLAS[1](1)
        _blas_users[0] += 1
    try:
        futs = [pool().submit(lambda run: [fn(p) for p in run], r) for r in runs[1:]]
        try:
            first = [fn(p) for p in runs[0]] if runs else []
        finally:
            rest = [f.result() for f in futs]
        return first + [r for run in rest for r in run]
    finally:
        with _lock:
            _blas_users[0] -= 1
            if _blas_users[0] == 0 and _BLAS is not None:
                _BLAS[1](_blas_users[1])


def parallel(fn, n: int, nbytes: int) -> None:
    """Run ``fn(lo, hi)`` over ``range(n)`` split across threads (large compute-bound work only)."""
    t = min(_NT, n)
    if t <= 1 or nbytes < (1 << 20):
        fn(0, n)
        return
    bounds = [n * i // t for i in range(t + 1)]
    futs = [pool().submit(fn, bounds[i], bounds[i + 1]) for i in range(1, t)]
    try:
        fn(bounds[0], bounds[1])
    finally:
        for f in futs:
            f.result()


_caches: list = []  # every thread's workspace dict, for clear_workspace


def workspace(name: str, shape, dtype) -> np.ndarray:
    """A per-thread reusable scratch array (contents undefined); never hand it out."""
    cache = getattr(_local, "ws", None)
    if cache is None:
        cache = _local.ws = {}
        _caches.append(cache)
    n = prod(shape)
    key = (name, np.dtype(dtype).str)
    buf = cache.get(key)
    if buf is None or buf.size < n:
        buf = cache[key] = np.empty(max(n, 1), dtype=dtype)
    return buf[:n].reshape(shape)


def clear_workspace() -> None:
    """Free the scratch buffers of all threads (call while no convolution runs)."""
    for cache in _caches:
        cache.clear()


class Geom:
    """Geometry of ``conv(x[S], w[K])`` with stride, dilation, per-side pads and groups.

    ``pr`` may be negative (a transposed conv's ``output_padding`` leaves the
    last input rows unused).
    """

    def __init__(self, S, K, stride, pl, pr, dilation, groups):
        nd = len(S)
        self.nd, self.S, self.K, self.s, self.d = nd, tuple(S), tuple(K), tuple(stride), tuple(dilation)
        self.pl, self.pr, self.G = tuple(pl), tuple(pr), int(groups)
        self.Sp = tuple(S[i] + pl[i] + pr[i] for i in range(nd))
        self.O = tuple((self.Sp[i] - self.d[i] * (K[i] - 1) - 1) // self.s[i] + 1 for i in range(nd))
        if any(o <= 0 for o in self.O) or any(p < 1 for p in self.Sp):
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, self.Sp))}). "
                f"Kernel size: ({' x '.join(str(self.d[i] * (K[i] - 1) + 1) for i in range(nd))}). "
                "Kernel size can't be greater than actual input size")
        self.kprod = prod(K)
        self.plane = prod(self.Sp)
        self.flat = all(v == 1 for v in self.s)
        self.kidx = list(np.ndindex(*K))
        st = self.st = [prod(self.Sp[i + 1:]) for i in range(nd)]
        if self.flat:
            self.pshape = (self.O[0],) + self.Sp[1:]
            self.offsets = [sum(k[i] * self.d[i] * st[i] for i in range(nd)) for k in self.kidx]
            self.alloc = self.plane + (st[0] if nd else 0)
        else:
            self.pshape = self.O
            self.alloc = self.plane
        self.inner = prod(self.pshape[1:])
        self.P = prod(self.pshape)
        self.Se = tuple(S[i] + min(self.pr[i], 0) for i in range(nd))  # input extent that is read
        self.dk = self.d[0] * (K[0] - 1)
        self.oinner = prod(self.O[1:])  # outputs per output row

    def grid(self, xp):
        """(m, C, alloc) padded buffer -> (m, C, *Sp) view."""
        return xp[:, :, :self.plane].reshape(xp.shape[:2] + self.Sp)

    def window(self, xp, j, a, b):
        """Input elements seen by kernel offset ``j`` for output rows [a, b): (m, C, *chunk)."""
        if self.flat:
            off = self.offsets[j]
            return xp[:, :, off + a * self.inner: off + b * self.inner]
        k = self.kidx[j]
        g = self.grid(xp)
        idx = [slice(None), slice(None)]
        for i in range(self.nd):
            lo = k[i] * self.d[i] + (self.s[i] * a if i == 0 else 0)
            n = b - a if i == 0 else self.O[i]
            idx.append(slice(lo, lo + self.s[i] * (n - 1) + 1, self.s[i]))
        return g[tuple(idx)]

    def chunk_shape(self, a, b):
        """Shape of one window (per sample and channel) for output rows [a, b)."""
        return ((b - a) * self.inner,) if self.flat else (b - a,) + self.O[1:]

    def valid(self, og, a, b):
        """(A, m, Pc) output-grid chunk of rows [a, b) -> (A, m, b-a, *O[1:]) view of real outputs."""
        v = og.reshape(og.shape[:2] + (b - a,) + self.pshape[1:])
        if self.flat and self.nd > 1:
            v = v[(slice(None),) * 3 + tuple(slice(0, o) for o in self.O[1:])]
        return v

    def complete_rows(self, ra, rb):
        """Input rows (unpadded) whose every contribution comes from output rows [ra, rb).

        Returns (lo, hi, touched_lo, touched_hi): rows [lo, hi) are complete; rows
        [touched_lo, lo) and [hi, touched_hi) also receive contributions from
        neighbouring row ranges (a thread boundary) and must be summed.
        """
        s0, p0, last = self.s[0], self.pl[0], self.O[0]
        t_lo, t_hi = ra * s0, (rb - 1) * s0 + self.dk + 1
        lo = 0 if ra == 0 else min(t_hi, (ra - 1) * s0 + self.dk + 1)
        hi = self.S[0] + p0 if rb == last else max(lo, rb * s0)
        if rb == last:
            t_hi = hi
        return lo - p0, hi - p0, t_lo - p0, t_hi - p0


def split_rows(N: int, R: int, T: int, row_bytes: int):
    """Split the (sample, row) space over ``T`` threads: lists of segments (n0, m, a, b).

    Small samples are grouped whole (m > 1 only with all rows); otherwise each
    segment is a row range of one sample.
    """
    sample = max(1, R * row_bytes)
    budget = CHUNK_BYTES if T > 1 else COL_BUDGET
    if sample <= budget and N > 1:
        m = max(1, min(budget // sample, -(-N // T)))
        groups = [(n0, min(m, N - n0), 0, R) for n0 in range(0, N, m)]
        k = len(groups)
        return [groups[k * t // T: k * (t + 1) // T] for t in range(T)]
    total, parts = N * R, []
    for t in range(T):
        lo, hi, segs = total * t // T, total * (t + 1) // T, []
        while lo < hi:
            n, a = divmod(lo, R)
            b = min(R, a + hi - lo)
            segs.append((n, 1, a, b))
            lo += b - a
        parts.append(segs)
    return parts


def row_step(g: Geom, rows: int, m: int, itemsize: int, T: int) -> int:
    budget = CHUNK_BYTES if T > 1 else COL_BUDGET
    return max(1, budget // max(1, rows * m * g.inner * itemsize))


# -- building blocks --------------------------------------------------------------
def fill_padded(xp, x, g: Geom) -> None:
    """Copy ``x`` (m, C, *S) into the zero-bordered padded buffer ``xp`` (m, C, alloc)."""
    grid = g.grid(xp)
    for i in range(g.nd):
        pre = (slice(None),) * (2 + i)
        if g.pl[i] > 0:
            grid[pre + (slice(0, g.pl[i]),)] = 0
        if g.pl[i] + g.Se[i] < g.Sp[i]:
            grid[pre + (slice(g.pl[i] + g.Se[i], None),)] = 0
    if xp.shape[2] > g.plane:
        xp[:, :, g.plane:] = 0
    inner = tuple(slice(g.pl[i], g.pl[i] + g.Se[i]) for i in range(g.nd))
    grid[(slice(None), slice(None)) + inner] = x[(slice(None), slice(None)) + tuple(slice(0, e) for e in g.Se)]


def windows(xp, g: Geom, a: int, b: int, flat: bool = False):
    """All kernel windows of ``xp`` for output rows [a, b) as one strided view.

    (C, *K, m, b-a, *O[1:]) holds only real outputs; ``flat`` (stride 1) gives
    (C, *K, m, (b-a)*inner) rows of the padded output grid instead.
    """
    m, C = xp.shape[:2]
    it = xp.itemsize
    ks = tuple(g.d[i] * g.st[i] * it for i in range(g.nd))
    base = xp[:, :, g.s[0] * a * g.st[0]:]
    if flat:
        tail, tstr = ((b - a) * g.inner,), (it,)
    else:
        tail = (b - a,) + g.O[1:]
        tstr = tuple(g.s[i] * g.st[i] * it for i in range(g.nd))
    return as_strided(base, (C,) + g.K + (m,) + tail, (xp.strides[1],) + ks + (xp.strides[0],) + tstr,
                      writeable=False)


def im2col(col, xp, g: Geom, a: int, b: int, flat: bool = False) -> None:
    """Fill ``col`` (C*K, columns) with the windows of ``xp`` for output rows [a, b) (one copy)."""
    w = windows(xp, g, a, b, flat)
    np.copyto(col.reshape(w.shape), w)


def col2im(xp, col, g: Geom, a: int, b: int) -> None:
    """Add the columns ``col`` (C*K, m*Pc) back into the padded buffer ``xp`` (adjoint of im2col)."""
    m, C = xp.shape[:2]
    cv = col.reshape((C, g.kprod, m) + g.chunk_shape(a, b))
    for j in range(g.kprod):
        dst = g.window(xp, j, a, b)
        np.add(dst, cv[:, j].swapaxes(0, 1), out=dst)


def fill_grid(og, y, g: Geom, a: int, b: int) -> None:
    """Copy rows [a, b) of ``y`` (m, Co, *O) into the grid chunk ``og`` (Co, m, Pc), zeroing gaps."""
    if g.flat:
        v = og.reshape(og.shape[:2] + (b - a,) + g.pshape[1:])
        for i in range(1, g.nd):
            if g.O[i] < g.Sp[i]:
                v[(slice(None),) * (2 + i) + (slice(g.O[i], None),)] = 0
    np.copyto(g.valid(og, a, b), y[:, :, a:b].swapaxes(0, 1))


def crop_grid(out, og, g: Geom, a: int, b: int, bias=None) -> None:
    """Rows [a, b) of ``out`` (m, Co, *O) = real outputs of the grid chunk ``og`` (+ bias)."""
    val = g.valid(og, a, b).swapaxes(0, 1)
    dst = out[:, :, a:b]
    if bias is None:
        np.copyto(dst, val)
    else:
        np.add(val, bias.reshape((-1,) + (1,) * g.nd), out=dst)


def crop_padded(out, xp, g: Geom, ra: int, rb: int, bias=None) -> None:
    """Rows [ra, rb) of ``out`` (m, C, *S) = interior of the padded buffer ``xp`` (+ bias)."""
    grid = g.grid(xp)
    bshape = (-1,) + (1,) * g.nd
    hi = min(rb, g.Se[0])
    if hi > ra:
        inner = (slice(g.pl[0] + ra, g.pl[0] + hi),) + tuple(
            slice(g.pl[i], g.pl[i] + g.Se[i]) for i in range(1, g.nd))
        src = grid[(slice(None), slice(None)) + inner]
        dst = out[(slice(None), slice(None), slice(ra, hi)) + tuple(slice(0, e) for e in g.Se[1:])]
        if bias is None:
            np.copyto(dst, src)
        else:
            np.add(src, bias.reshape(bshape), out=dst)
    for i in range(g.nd):
        lo = max(ra, g.Se[0]) if i == 0 else g.Se[i]
        if (i == 0 and lo < rb) or (i > 0 and lo < g.S[i]):
            # rows no window reads (a transposed conv's output_padding): zero gradient (+ bias)
            sl = (slice(lo, rb),) if i == 0 else (slice(ra, rb),) + (slice(None),) * (i - 1) + (slice(lo, None),)
            out[(slice(None), slice(None)) + sl] = 0 if bias is None else bias.reshape(bshape)
