"""NIfTI voxels as a dask array that reads the file on demand (``read(path, lazy=True)``).

NIfTI stores voxels x fastest (Fortran order of nibabel's ``(x, y, z[, t])``),
which is C order of bioimg's reversed axes ``(t, z, y, x)``. Chunks therefore
run along the slowest stored axis (whole planes: Z for ZYX, one T and a run
of Z for TZYX, Y for YX), each a contiguous byte range. Reads are positional
(``os.pread``) of exactly the rows a slice needs: dask fuses a slice of a
chunk into one call of :meth:`_Voxels.__getitem__`, so the engine, which
reads a row of tiles (a Z range x a Y range x all X) at a time, reads only
those rows, not whole chunks.

Values equal ``read_nifti``'s exactly: the raw bytes, native byte order,
and the same ``scl_slope``/``scl_inter`` formula (``_nifti.apply_scaling``)
applied chunk by chunk (elementwise, so chunking cannot change a value).
nibabel's own ``img.dataobj[...]`` is not used for the pixels because its
scaled slices follow nibabel's dtype rules, not bioimg's float32 convention;
the header, offset, dtype and scaling come from that proxy.

``.nii.gz``: gzip has no random access (a read at byte *n* inflates the
*n* bytes before it), and the engine reads each Z band once per row of
tiles, so reading from the stream would inflate the volume many times over
or hold whole bands in memory. Instead the file is inflated once, in 16 MB
steps, by the same verified pass as the eager reader (``inflate_verified``:
truncation, a header promising more than the stream holds and a bad CRC fail
with the same one-line error, before anything is returned), into an
anonymous temporary file (``tempfile.TemporaryFile``: unlinked at once,
freed when the array is released or the process ends). Memory stays
bounded; disk use is the uncompressed voxel size, checked against the free
space first.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import numpy as np

from ._errors import ImageReadError
from ._nifti import apply_scaling, inflate_verified, scaling, voxel_end

__all__ = ["lazy_voxels"]

#: target bytes of stored voxels per dask chunk (whole planes along the slowest axis)
CHUNK_BYTES = 64 << 20


def lazy_voxels(path: Path, img, shape: tuple, raw_dtype):
    """Voxels of ``img`` (loaded header, checked ``shape``/``raw_dtype``) as a dask array in bioimg axis order."""
    import dask.array as da
    from dask.base import tokenize

    proxy = img.dataobj
    offset = int(proxy.offset)
    raw_dtype = np.dtype(raw_dtype)
    if path.name.lower().endswith(".gz"):
        fd = _inflate_to_temp(path, voxel_end(img, shape, raw_dtype))
    else:
        fd = os.open(path, os.O_RDONLY)
    voxels = _Voxels(path, fd, offset, tuple(shape[::-1]), raw_dtype, scaling(proxy))
    st = path.stat()
    name = "nifti-" + tokenize(str(path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino)
    return da.from_array(voxels, chunks=_chunks(voxels.shape, raw_dtype.itemsize), name=name,
                         meta=np.empty((0,) * len(shape), voxels.dtype), asarray=False)


def _chunks(shape: tuple, itemsize: int) -> tuple:
    """Whole planes along the slowest axis, about :data:`CHUNK_BYTES` each (4-D: one T at a time)."""
    lead = 1 if len(shape) == 4 else 0  # TZYX: chunk within one time point
    plane = int(np.prod(shape[lead + 1:], dtype=np.int64)) * itemsize
    n = max(1, min(shape[lead], CHUNK_BYTES // max(plane, 1)))
    return (1,) * lead + (n,) + shape[lead + 1:]


def _inflate_to_temp(path: Path, expected: int) -> int:
    """The verified, inflated file in an anonymous temporary file; returns its descriptor."""
    tmpdir = tempfile.gettempdir()
    free = shutil.disk_usage(tmpdir).free
    if expected > free:
        raise ImageReadError(path, f"reading it lazily inflates {expected} bytes into the temporary folder "
                             f"{tmpdir}, which has {free} bytes free (set TMPDIR, or decompress it to .nii)")
    fh = tempfile.TemporaryFile(prefix="bioimg-nifti-")
    try:
        inflate_verified(path, expected, fh.write)
        fh.flush()
        return os.dup(fh.fileno())
    finally:
        fh.close()  # the dup'ed descriptor keeps the unlinked file alive


def _span(k, n: int) -> tuple[tuple[int, int], slice | int]:
    """For index ``k`` on an axis of ``n``: the (start, stop) range to read and what to pick from it."""
    if not isinstance(k, slice):
        i = int(k) + (n if int(k) < 0 else 0)
        if not 0 <= i < n:
            raise IndexError(f"index {k} out of range for axis of size {n}")
        return (i, i + 1), 0
    idx = range(*k.indices(n))
    if not idx:
        return (0, 0), slice(0, 0)
    lo, hi = min(idx[0], idx[-1]), max(idx[0], idx[-1]) + 1
    if idx.step > 0:
        return (lo, hi), slice(0, hi - lo, idx.step)
    return (lo, hi), slice(idx[0] - lo, None, idx.step)  # backwards: from the top of the range down


class _Voxels:
    """Array-like over the stored voxels (C order of the reversed axes) for ``da.from_array``."""

    def __init__(self, path: Path, fd: int, offset: int, shape: tuple, raw_dtype: np.dtype, scale):
        self.path, self.fd, self.offset, self.shape = path, fd, offset, shape
        self.raw_dtype = raw_dtype
        self.scale = scale
        native = raw_dtype.newbyteorder("=")
        self.dtype = apply_scaling(np.zeros(1, native), scale).dtype
        self.ndim = len(shape)
        self._lock = threading.Lock()
        weakref.finalize(self, os.close, fd)  # the descriptor lives as long as some dask graph holds us

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (self.ndim - len(key) + 1) + key[i + 1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        if len(key) != self.ndim:
            raise IndexError(f"too many indices for an array of shape {self.shape}")
        spans, picks = zip(*(_span(k, n) for k, n in zip(key, self.shape)))
        return apply_scaling(self._read(spans)[tuple(picks)], self.scale)

    def _read(self, spans: list) -> np.ndarray:
        """The box ``spans`` ((start, stop) per axis), read as whole last-axis rows, native byte order."""
        *lead, (r0, r1), (c0, c1) = spans
        width, isz = self.shape[-1], self.raw_dtype.itemsize
        out = np.empty(tuple(b - a for a, b in lead) + (r1 - r0, width), self.raw_dtype)
        if out.size:
            # rows (of the last axis) per step along each leading axis
            row_steps = [int(np.prod(self.shape[j + 1:-1], dtype=np.int64)) for j in range(len(lead))]
            whole = r0 == 0 and r1 == self.shape[-2] and lead
            # whole planes: the innermost leading range is one contiguous run, one read
            outer = lead[:-1] if whole else lead
            flat = out.reshape(int(np.prod([b - a for a, b in outer], dtype=np.int64)), -1)
            for i, idx in enumerate(np.ndindex(*[b - a for a, b in outer])):
                first = sum((a + j) * s for (a, _), j, s in zip(outer, idx, row_steps))
                first += lead[-1][0] * row_steps[-1] if whole else r0
                self._pread(flat[i], self.offset + first * width * isz)
        out = out[..., c0:c1]
        return out if out.dtype.isnative else out.astype(out.dtype.newbyteorder("="))

    def _pread(self, dest: np.ndarray, start: int) -> None:
        """Fill ``dest`` from byte ``start``: positional reads, safe from dask's threads."""
        view, done = memoryview(dest.view(np.uint8)), 0
        while done < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(self.fd, [view[done:]], start + done)
            else:  # no positional read (Windows): seek and read under a lock
                with self._lock:
                    os.lseek(self.fd, start + done, os.SEEK_SET)
                    chunk = os.read(self.fd, len(view) - done)
                n = len(chunk)
                view[done:done + n] = chunk
            if n <= 0:
                raise ImageReadError(self.path, f"file is truncated (voxel data needs {start + len(view)} "
                                     f"bytes, read {start + done})")
            done += n
