"""The one tiled prediction engine: overlapping tiles, smooth blending, finished boxes out.

Every dense prediction of bioimg (``predict``, ``predict_tiled``,
``bioimg.scale.predict_to_zarr``, ``bioimg predict``, the napari widget, the
dask-distributed split of one image) runs :func:`run_tiles`.

Geometry. Along each spatial axis the tiles start at ``starts`` (step
``tile - overlap``, the last one flush with the image end). The start and
end points of all tiles cut the axis into *cells*; a cell is finished once
the last tile covering it (in raster order) has run. Because tiles are
visited in raster order, the cells finished by tile ``k`` form one box,
``[starts[k], starts[k + 1])`` per axis, which :func:`run_tiles` hands to
``emit`` as blended logits and then forgets.

Memory. Only cells that some tile has touched but whose last tile has not run
are held: for 2D the overlap strip below the current row of tiles (one band
of ``overlap x width``); for 3D the overlap slab below the current plane of
tiles. Never the image. Inputs are read through :class:`Source`, which keeps
one row of tiles of (normalized) input so lazy stores are read once.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import autograd as torch

__all__ = ["Plan", "Source", "blend_window", "make_plan", "run_tiles", "default_tile"]


def _starts(size: int, tile: int, step: int) -> list[int]:
    """Tile starts on the regular grid ``k * step``; the last one may run past the image end
    (it is read flush with the end, see ``_flush``). Blending a flush last tile over its
    whole overlap with the one before would hold up to a whole tile of pending rows (in 3D
    a slab of planes three times the nominal one); grid starts also keep every box border
    on an output chunk border (chunks are one step), which the distributed path relies on."""
    if size <= tile:
        return [0]
    return [k * step for k in range(-(-(size - tile) // step) + 1)]


def blend_window(tile: tuple, overlap: tuple) -> np.ndarray:
    """Separable weights rising smoothly (raised cosine) over the overlap, flat inside."""
    w = np.ones(tile, dtype=np.float32)
    for ax, (t, o) in enumerate(zip(tile, overlap)):
        ramp = np.ones(t, dtype=np.float32)
        if o > 0:
            r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(o, dtype=np.float32) + 0.5) / o)
            ramp[:o] = np.minimum(ramp[:o], r)
            ramp[t - o:] = np.minimum(ramp[t - o:], r[::-1])
        shape = [1] * len(tile)
        shape[ax] = t
        w *= ramp.reshape(shape)
    return np.maximum(w, 1e-3)


def default_tile(patch, ndim: int, multiple: int, tile=None, overlap=None) -> tuple[tuple, tuple]:
    """Tile (twice the training patch, at most 256 / 96) and overlap (a quarter) as ``predict`` uses."""
    patch = tuple(patch or ()) or (128,) * ndim
    tile = tile or tuple(min(2 * p, 256 if ndim == 2 else 96) for p in patch)
    tile = tuple((max(int(t), multiple) // multiple) * multiple for t in np.broadcast_to(tile, (ndim,)))
    overlap = overlap if overlap is not None else tuple(t // 4 for t in tile)
    return tile, tuple(int(o) for o in np.broadcast_to(overlap, (ndim,)))


@dataclass(frozen=True)
class Plan:
    """Where the tiles go: image ``shape``, ``tile``, ``overlap``, per-axis ``starts`` and ``cuts``."""

    shape: tuple
    tile: tuple
    overlap: tuple
    starts: tuple
    cuts: tuple          # per axis: sorted cell boundaries (all tile starts and ends)
    first: tuple         # per axis, per tile: index of the first cell it covers
    stop: tuple          # per axis, per tile: one past its last cell
    last: tuple          # per axis, per cell: index of the last tile covering it
    window: np.ndarray

    @property
    def grid(self) -> tuple:
        return tuple(len(s) for s in self.starts)

    @property
    def total(self) -> int:
        return int(np.prod(self.grid))

    def box(self, pos) -> tuple:
        """Pixel slices of the box finished by tile ``pos``: ``[starts[k], starts[k+1])`` per axis."""
        return tuple(slice(s[k], s[k + 1] if k + 1 < len(s) else n)
                     for s, k, n in zip(self.starts, pos, self.shape))

    def tile_slices(self, pos) -> tuple:
        return tuple(slice(s[k], min(s[k] + t, n)) for s, k, t, n in zip(self.starts, pos, self.tile, self.shape))


def make_plan(shape, tile, overlap, multiple: int = 1) -> Plan:
    """Tile geometry for a spatial ``shape``; a tile larger than the image shrinks to it (rounded up to ``multiple``)."""
    shape = tuple(int(s) for s in shape)
    nd = len(shape)
    tile = tuple(int(t) for t in np.broadcast_to(tile, (nd,)))
    overlap = tuple(int(o) for o in np.broadcast_to(overlap, (nd,)))
    tile = tuple(min(t, -(-s // multiple) * multiple) for t, s in zip(tile, shape))
    overlap = tuple(max(0, min(o, t // 2)) for o, t in zip(overlap, tile))
    starts = tuple(tuple(_starts(s, t, t - o)) for s, t, o in zip(shape, tile, overlap))
    cuts, first, stop, last = [], [], [], []
    for st, t, n in zip(starts, tile, shape):
        ends = [min(s + t, n) for s in st]
        c = sorted(set(st) | set(ends))
        first.append(tuple(c.index(s) for s in st))
        stop.append(tuple(c.index(e) for e in ends))
        lst = [0] * (len(c) - 1)
        for k, (a, b) in enumerate(zip(first[-1], stop[-1])):
            for j in range(a, b):
                lst[j] = k
        cuts.append(tuple(c))
        last.append(tuple(lst))
    edges = tuple(o if len(s) > 1 else 0 for o, s in zip(overlap, starts))
    return Plan(shape, tile, overlap, starts, tuple(cuts), tuple(first), tuple(stop), tuple(last),
                blend_window(tile, edges))


class Source:
    """Network input read tile by tile from an array-like (C, *spatial).

    ``prepare(block) -> float32 block`` (normalization) runs once per row of
    tiles: the rows of the input a row of tiles needs (tile extent along every
    axis but the last, full extent along the last) are read and prepared
    together, so a lazy store is read about once, not once per tile.
    ``bad`` collects the spatial mask of pixels ``prepare`` could not make
    finite (set to 0 in the input; the caller makes them background).
    """

    def __init__(self, data, prepare: Callable[[np.ndarray], np.ndarray] | None = None):
        self.data = data
        self.prepare = prepare
        self._key = None
        self._row = None
        self._bad = None
        self.bad_count = 0

    def _load(self, sl: tuple) -> None:
        key = tuple((s.start, s.stop) for s in sl[:-1])
        if key == self._key:
            return
        block = self.data[(slice(None),) + sl[:-1]]
        # a local read, also inside a dask.distributed worker or next to an active Client
        block = block.compute(scheduler="synchronous") if hasattr(block, "compute") else np.asarray(block)
        x = self.prepare(block) if self.prepare is not None else block
        x = np.asarray(x, dtype=np.float32)
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, np.float32(0), x)
            self._bad = bad.any(axis=0)
        else:
            self._bad = None
        self._key, self._row = key, x

    def read(self, sl: tuple) -> np.ndarray:
        """Prepared input (C, *tile region) for spatial slices ``sl``."""
        if self.prepare is None and not hasattr(self.data, "compute"):
            return np.asarray(self.data[(slice(None),) + sl], dtype=np.float32)
        self._load(sl)
        return self._row[(slice(None),) + (slice(None),) * (len(sl) - 1) + (sl[-1],)]

    def bad(self, sl: tuple) -> np.ndarray | None:
        """Non-finite mask of the prepared input within ``sl`` (None when all finite).

        ``sl`` must lie in the row of tiles read last (a finished box lies in its last tile).
        """
        if self._key is None or self._bad is None:  # nothing read through the row cache, or all finite
            return None
        rel = tuple(slice(s.start - lo, s.stop - lo) for s, (lo, _) in zip(sl[:-1], self._key))
        return self._bad[rel + (sl[-1],)]


def _flush(sl: tuple, plan: Plan) -> tuple[tuple, tuple]:
    """(slices to read, slices of the prediction to keep) for the tile at ``sl``.

    A last tile that runs past the image end is read flush with the end instead (real
    pixels as context, not padding) and its prediction shifted back onto the grid tile,
    so blending and memory follow the regular grid while the network sees the image.
    """
    read, keep = [], []
    for s, t, n in zip(sl, plan.tile, plan.shape):
        lo = min(s.start, max(0, n - t))
        read.append(slice(lo, min(lo + t, n)))
        keep.append(slice(s.start - lo, s.stop - lo))
    return tuple(read), tuple(keep)


def _padded(block: np.ndarray, tile: tuple) -> np.ndarray:
    valid = block.shape[1:]
    if valid == tile:
        return block
    pads = [(0, 0)] + [(0, t - v) for t, v in zip(tile, valid)]
    mode = "reflect" if all(v > t - v for v, t in zip(valid, tile)) else "edge"
    return np.pad(block, pads, mode=mode)


def _tile_range(plan: Plan, boxes: tuple) -> list[range]:
    """Per axis, the tiles covering any cell of the boxes ``range(lo, hi)`` (all tiles: full range)."""
    out = []
    for a, (lo, hi) in enumerate(boxes):
        cell_lo = plan.first[a][lo]  # box lo starts at the cell where tile lo starts
        cell_hi = plan.first[a][hi] if hi < len(plan.starts[a]) else len(plan.cuts[a]) - 1
        ks = [k for k in range(len(plan.starts[a]))
              if plan.first[a][k] < cell_hi and plan.stop[a][k] > cell_lo]
        out.append(range(min(ks), max(ks) + 1))
    return out


def run_tiles(net, source: Source, out_channels: int, plan: Plan,
              emit: Callable[[tuple, np.ndarray], None], *, boxes: tuple | None = None,
              progress: Callable[[int, int], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> None:
    """Run ``net`` over the tiles of ``plan``; ``emit(box_slices, logits)`` for each finished box.

    Parameters
    ----------
    net : autograd.nn.Module
        Maps (1, C, *tile) to (1, out_channels, *tile).
    source : Source
        The network input.
    out_channels : int
        Channels of the network output.
    plan : Plan
        From :func:`make_plan`.
    emit : callable
        ``emit(slices, logits)``: blended logits (out_channels, *box), float32,
        of the box of the image at ``slices``; called once per box, in raster order.
    boxes : tuple of (lo, hi), optional
        Only the boxes ``lo <= k < hi`` per axis (a block of the image for one
        worker); the result there is bit-identical to the full run (same tiles,
        same summation order).
    progress, cancel : callable, optional
        ``progress(done, total)`` after each tile; ``cancel()`` returning True
        raises ``InterruptedError``.
    """
    nd = len(plan.shape)
    boxes = boxes or tuple((0, g) for g in plan.grid)
    ranges = _tile_range(plan, boxes)
    cell_lo = [plan.first[a][lo] for a, (lo, _) in enumerate(boxes)]
    cell_hi = [plan.first[a][hi] if hi < plan.grid[a] else len(plan.cuts[a]) - 1
               for a, (_, hi) in enumerate(boxes)]
    total = int(np.prod([len(r) for r in ranges]))
    cells: dict[tuple, list] = {}
    was_training = net.training
    net.eval()
    try:
        for done, pos in enumerate(itertools.product(*ranges), start=1):
            if cancel is not None and cancel():
                raise InterruptedError("prediction cancelled")
            sl = plan.tile_slices(pos)
            read, keep = _flush(sl, plan)
            block = _padded(source.read(read), plan.tile)
            with torch.no_grad():
                pred = net(torch.from_numpy(np.ascontiguousarray(block[None], dtype=np.float32))).numpy()[0]
            pred = pred[(slice(None),) + keep]
            origin = [s.start for s in sl]
            for cell in itertools.product(*[range(max(plan.first[a][k], cell_lo[a]),
                                                  min(plan.stop[a][k], cell_hi[a]))
                                            for a, k in enumerate(pos)]):
                csl = tuple(slice(plan.cuts[a][j] - origin[a], plan.cuts[a][j + 1] - origin[a])
                            for a, j in enumerate(cell))
                w = plan.window[csl]
                acc = cells.get(cell)
                if acc is None:
                    cells[cell] = [pred[(slice(None),) + csl] * w, w.copy()]
                else:
                    acc[0] += pred[(slice(None),) + csl] * w
                    acc[1] += w
            _emit_finished(plan, pos, cells, cell_lo, cell_hi, boxes, out_channels, emit)
            if progress is not None:
                progress(done, total)
    finally:
        net.train(was_training)


def _emit_finished(plan: Plan, pos: tuple, cells: dict, cell_lo, cell_hi, boxes, out_c: int, emit) -> None:
    """Assemble the cells whose last tile is ``pos`` into its box and emit it (inside ``boxes`` only)."""
    if any(not (lo <= k < hi) for k, (lo, hi) in zip(pos, boxes)):
        return
    per_axis = [[j for j in range(cell_lo[a], cell_hi[a]) if plan.last[a][j] == k] for a, k in enumerate(pos)]
    if any(not js for js in per_axis):
        return
    box = tuple(slice(plan.cuts[a][js[0]], plan.cuts[a][js[-1] + 1]) for a, js in enumerate(per_axis))
    out = np.empty((out_c,) + tuple(s.stop - s.start for s in box), np.float32)
    for cell in itertools.product(*per_axis):
        acc, w = cells.pop(cell)
        dst = tuple(slice(plan.cuts[a][j] - box[a].start, plan.cuts[a][j + 1] - box[a].start)
                    for a, j in enumerate(cell))
        out[(slice(None),) + dst] = acc / w
    emit(box, out)
