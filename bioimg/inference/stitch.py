"""Instance labels block by block, without seams: overlap matching, union-find, global relabel.

:func:`instances_blockwise` splits the probabilities into core blocks. Each
block is labelled by :func:`~bioimg.inference.postprocess.instances_from_probs`
on its core grown by a ``halo`` (so an object cut by the core border is seen
whole by both blocks) and its objects that reach the core get fresh ids. In
the halo, the cores of blocks already done hold their ids: an object of this
block and an object there whose pixels in that shared area overlap with
IoU >= 0.5 are the same object (union-find). Two touching but distinct
nuclei overlap little there, so they stay apart. A last pass maps every id to
its union-find root, renumbered 1..N.

Memory: one block plus its halo of probabilities and labels, and one integer
per provisional id; never the image.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from .postprocess import instances_from_probs

__all__ = ["instances_blockwise", "default_block"]


def default_block(ndim: int) -> tuple[tuple, tuple]:
    """Core block and halo per axis: 1024 px / 48 px in 2D, (64, 256, 256) / (8, 32, 32) in 3D."""
    return ((1024, 1024), (48, 48)) if ndim == 2 else ((64, 256, 256), (8, 32, 32))


class _UnionFind:
    def __init__(self):
        self.parent = np.zeros(1, np.int64)

    def grow(self, n: int) -> None:
        old = len(self.parent)
        if n > old:
            new = np.arange(max(n, 2 * old), dtype=np.int64)
            new[:old] = self.parent
            self.parent = new

    def find(self, a: int) -> int:
        p = self.parent
        root = a
        while p[root] != root:
            root = p[root]
        while p[a] != root:  # path compression
            p[a], a = root, p[a]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _match(new: np.ndarray, old: np.ndarray, min_iou: float = 0.5) -> list[tuple[int, int]]:
    """(new id, old id) pairs whose pixels where both are labelled overlap with IoU >= ``min_iou``.

    The IoU is taken within the area ``old`` covers (earlier blocks' cores), where both
    labellings exist.
    """
    area = old > 0
    if not area.any():
        return []
    a, b = new[area].astype(np.int64), old[area].astype(np.int64)
    size_a = dict(zip(*np.unique(a[a > 0], return_counts=True)))
    size_b = dict(zip(*np.unique(b, return_counts=True)))
    both = (a > 0)
    pairs, counts = np.unique(np.stack([a[both], b[both]]), axis=1, return_counts=True)
    out = []
    for (i, j), n in zip(pairs.T, counts):
        if n / (size_a[i] + size_b[j] - n) >= min_iou:
            out.append((int(i), int(j)))
    return out


def instances_blockwise(probs, out, *, block=None, halo=None, threshold: float = 0.5,
                        min_size: int = 10, spacing=None, final: Callable[[int], object] | None = None,
                        progress: Callable[[int, int], None] | None = None,
                        cancel: Callable[[], bool] | None = None) -> int:
    """Instance labels of (background, interior, boundary) ``probs`` written into ``out``, seamlessly.

    Parameters
    ----------
    probs : array-like, shape (3, *spatial)
        numpy or zarr (read block by block).
    out : array-like, shape (*spatial), unsigned integer (uint32 recommended)
        Zero-filled; receives ids 1..N (numpy or zarr).
    block, halo : int or tuple, optional
        Core block and halo per axis (default :func:`default_block`). The halo
        should exceed the radius of the largest object.
    threshold, min_size, spacing
        As :func:`~bioimg.inference.postprocess.instances_from_probs`.
    final : callable, optional
        ``final(n) -> array-like``: where the renumbered ids go once the number
        of objects is known (e.g. uint16 when it fits); default ``out``, in place.
    progress, cancel : callable, optional
        ``progress(done, total)``: ``(0, total)`` first, so a display can switch to
        this stage before the first (possibly slow) block is done, then once per
        block of both passes (``total`` = 2 x blocks). ``cancel()`` True raises
        ``InterruptedError`` before any block of either pass.

    Returns
    -------
    int
        Number of objects N.
    """
    if probs.shape[0] < 3:
        raise ValueError("the instance watershed needs 3 probability channels (background, interior, "
                         f"boundary); the model gives {probs.shape[0]}")
    shape = tuple(int(s) for s in probs.shape[1:])
    nd = len(shape)
    dblock, dhalo = default_block(nd)
    block = tuple(int(b) for b in np.broadcast_to(block or dblock, (nd,)))
    halo = tuple(int(h) for h in np.broadcast_to(dhalo if halo is None else halo, (nd,)))
    grid = [range(0, s, b) for s, b in zip(shape, block)]
    cores = [tuple(slice(o, min(o + b, s)) for o, b, s in zip(orig, block, shape))
             for orig in itertools.product(*grid)]
    total = 2 * len(cores)
    if progress is not None:
        progress(0, total)
    uf = _UnionFind()
    next_id = 1
    for n, core in enumerate(cores, start=1):
        if cancel is not None and cancel():
            raise InterruptedError("prediction cancelled")
        ext = tuple(slice(max(0, c.start - h), min(s, c.stop + h)) for c, h, s in zip(core, halo, shape))
        inner = tuple(slice(c.start - e.start, c.stop - e.start) for c, e in zip(core, ext))
        lab = instances_from_probs(np.asarray(probs[(slice(None),) + ext], dtype=np.float32),
                                   threshold=threshold, min_size=min_size, spacing=spacing)
        ids = np.unique(lab[inner])
        ids = ids[ids > 0]
        lut = np.zeros(int(lab.max()) + 1, np.int64)
        lut[ids] = np.arange(next_id, next_id + len(ids))
        next_id += len(ids)
        uf.grow(next_id)
        seen = np.asarray(out[ext]).astype(np.int64)
        seen[inner] = 0
        # earlier blocks may hold one object under several ids already joined: compare roots
        vals, inv = np.unique(seen, return_inverse=True)
        seen = np.array([uf.find(int(v)) for v in vals], np.int64)[inv].reshape(seen.shape)
        for a, b in _match(lab, seen):
            if lut[a]:
                uf.union(int(lut[a]), b)
        out[core] = lut[lab[inner]].astype(out.dtype)
        if progress is not None:
            progress(n, total)
    roots = np.array([uf.find(i) for i in range(next_id)], np.int64)
    lut = np.zeros(next_id, np.int64)
    uniq = np.unique(roots[1:])
    lut[uniq] = np.arange(1, len(uniq) + 1)
    lut = lut[roots]
    lut[0] = 0
    dest = out if final is None else final(len(uniq))
    for n, core in enumerate(cores, start=len(cores) + 1):
        if cancel is not None and cancel():
            raise InterruptedError("prediction cancelled")
        dest[core] = lut[np.asarray(out[core])].astype(dest.dtype)
        if progress is not None:
            progress(n, total)
    return int(len(uniq))
