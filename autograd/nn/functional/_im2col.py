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
threads x ``CHUNK_BYTES``, whatever the volume; a forward convolution fills
the padded input of a large sample band by band, ``input_bands``). The (sample, row) space is split
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

__all__: list = []

CHUNK_BYTES = 8 << 20          # column-matrix chunk per thread when threads run the GEMMs
COL_BUDGET = 16 << 20          # chunk when BLAS threads run the GEMMs (no BLAS thread control)
LINE_BYTES = 2 << 20           # column chunk when a row is cut into lines (fits the L2 cache)
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

    def span(self, a, b, h=None):
        """(first column, columns) of the chunk in the flat padded output grid (stride 1)."""
        if h is None:
            return a * self.inner, (b - a) * self.inner
        return a * self.inner + h[0] * self.st[1], (h[1] - h[0]) * self.st[1]

    def window(self, xp, j, a, b, h=None):
        """Input elements seen by kernel offset ``j`` for the chunk: (m, C, *chunk)."""
        if self.flat:
            p0, n = self.span(a, b, h)
            off = self.offsets[j] + p0
            return xp[:, :, off: off + n]
        k = self.kidx[j]
        g = self.grid(xp)
        idx = [slice(None), slice(None)]
        for i in range(self.nd):
            lo = k[i] * self.d[i] + (self.s[i] * a if i == 0 else 0)
            n = b - a if i == 0 else self.O[i]
            idx.append(slice(lo, lo + self.s[i] * (n - 1) + 1, self.s[i]))
        return g[tuple(idx)]

    def chunk_shape(self, a, b, h=None):
        """Shape of one window (per sample and channel) for the chunk."""
        return (self.span(a, b, h)[1],) if self.flat else (b - a,) + self.O[1:]

    def valid(self, og, a, b, h=None):
        """(A, m, Pc) output-grid chunk -> view of its real outputs: (A, m, b-a, *O[1:]),
        or (A, m, h1-h0, *O[2:]) for lines ``h`` of one row."""
        if h is not None:
            v = og.reshape(og.shape[:2] + (h[1] - h[0],) + self.pshape[2:])
            return v[(slice(None),) * 3 + tuple(slice(0, o) for o in self.O[2:])]
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


BAND_BYTES = 8 << 20          # padded input per thread above which a forward conv works in bands


def input_bands(g: Geom, ra: int, rb: int, chan_bytes: int):
    """Bands ``(origin, ca, cb, band geometry, lo, hi)`` of output rows [ra, rb) (forward pass).

    Row 0 of the band's padded input is output row ``origin``'s first padded row; the band
    computes output rows [origin + ca, origin + cb) from input rows [lo, hi).

    A sample whose padded input (``chan_bytes`` per element of a padded plane row: m * C *
    itemsize) is within ``BAND_BYTES`` is one band: the whole sample, ``g`` itself. A larger
    one is cut into bands of output rows whose padded input rows fit the budget (with the
    kernel's halo rows read twice), so a convolution's scratch memory is bounded whatever
    the volume (a 3D prediction tile of 32 channels x 64 x 256 x 256 pads to 0.5 GB per
    thread otherwise). The band geometry ``gb`` pads input rows [lo, hi) to exactly the
    rows the band reads; its other axes are ``g``'s, so flat offsets and grid shapes agree.
    Bands depend on the geometry only, never on the thread count.
    """
    if chan_bytes * g.alloc <= BAND_BYTES:
        yield 0, ra, rb, g, 0, g.S[0]
        return
    s0, pl0 = g.s[0], g.pl[0]
    # padded rows per band; at least twice the kernel's reach, so halo rows are read at most twice
    budget = max(2 * (g.dk + 1), BAND_BYTES // max(1, chan_bytes * g.st[0]))
    per = max(1, (budget - g.dk - 1) // s0 + 1)
    for ba in range(ra, rb, per):
        bb = min(rb, ba + per)
        p_lo, p_hi = ba * s0, (bb - 1) * s0 + g.dk + 1  # padded rows the band reads
        lo, hi = max(0, p_lo - pl0), max(0, min(g.Se[0], p_hi - pl0))
        lo = min(lo, hi)
        left = lo + pl0 - p_lo
        gb = Geom((hi - lo,) + g.S[1:], g.K, g.s, (left,) + g.pl[1:],
                  (p_hi - p_lo - left - (hi - lo),) + g.pr[1:], g.d, g.G)
        yield ba, 0, bb - ba, gb, lo, hi


def row_step(g: Geom, rows: int, m: int, itemsize: int, T: int) -> int:
    budget = CHUNK_BYTES if T > 1 else COL_BUDGET
    return max(1, budget // max(1, rows * m * g.inner * itemsize))


def row_chunks(g: Geom, ra: int, rb: int, rows: int, m: int, itemsize: int, T: int):
    """Chunks ``(a, b, h)`` of output rows [ra, rb): whole rows (``h`` None), or, when one
    row's columns overflow the budget (a large 3D plane, stride 1), ranges ``h = (h0, h1)``
    of its lines (dim 1) one row at a time, so the column matrix stays cache-sized.

    The chunks depend on the geometry and ``T`` (``PARTS`` or 1) only, never on the
    thread count, so the sums over chunks are bitwise reproducible.
    """
    budget = CHUNK_BYTES if T > 1 else COL_BUDGET
    if g.flat and g.nd > 2 and rows * m * g.inner * itemsize > budget:
        line = g.st[1]
        per = max(1, min(budget, LINE_BYTES) // max(1, rows * m * line * itemsize))
        for a in range(ra, rb):
            for h0 in range(0, g.O[1], per):
                yield a, a + 1, (h0, min(g.O[1], h0 + per))
        return
    step = row_step(g, rows, m, itemsize, T)
    for a in range(ra, rb, step):
        yield a, min(rb, a + step), None


# the building blocks live in _unfold (re-exported: callers use ``_im2col.im2col`` etc.)
from ._unfold import (col2im, crop_grid, crop_padded, crop_rows, fill_grid, fill_padded,  # noqa: E402, F401
                      im2col, windows)
