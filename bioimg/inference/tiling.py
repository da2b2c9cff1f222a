"""Tiled prediction with overlap and smooth blending, for 2D and 3D images of any size.

Working memory is bounded by the tile (plus the output), not the image:
the network only ever sees one (C, *tile) block at a time.
"""
from __future__ import annotations

import numpy as np

import autograd as torch


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return sorted(set(starts))


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


def predict_tiled(net, image: np.ndarray, out_channels: int, tile, overlap, multiple: int = 1,
                  progress=None, cancel=None) -> np.ndarray:
    """Run ``net`` over ``image`` (C, *spatial) in overlapping tiles; return (out_channels, *spatial).

    Tiles are blended with ``blend_window``; a tile larger than the image
    shrinks to the image (rounded up to ``multiple`` and padded by reflection).
    ``progress(done, total)`` is called per tile; ``cancel()`` returning True
    raises ``InterruptedError``.
    """
    spatial = image.shape[1:]
    nd = len(spatial)
    tile = tuple(int(t) for t in (tile if np.ndim(tile) else (tile,) * nd))
    overlap = tuple(int(o) for o in (overlap if np.ndim(overlap) else (overlap,) * nd))
    tile = tuple(min(t, -(-s // multiple) * multiple) for t, s in zip(tile, spatial))
    overlap = tuple(min(o, t // 2) for o, t in zip(overlap, tile))
    grids = [_starts(s, t, t - o) for s, t, o in zip(spatial, tile, overlap)]
    positions = np.array(np.meshgrid(*grids, indexing="ij")).reshape(nd, -1).T
    out = np.zeros((out_channels,) + spatial, dtype=np.float32)
    weight = np.zeros(spatial, dtype=np.float32)
    edges_overlap = tuple(o if len(g) > 1 else 0 for o, g in zip(overlap, grids))
    win = blend_window(tile, edges_overlap)
    was_training = net.training
    net.eval()
    try:
        for n, origin in enumerate(positions):
            if cancel is not None and cancel():
                raise InterruptedError("prediction cancelled")
            sl = tuple(slice(int(o), int(o) + t) for o, t in zip(origin, tile))
            block = image[(slice(None),) + sl]
            valid = block.shape[1:]
            if valid != tile:
                pads = [(0, 0)] + [(0, t - v) for t, v in zip(tile, valid)]
                mode = "reflect" if all(v > t - v for v, t in zip(valid, tile)) else "edge"
                block = np.pad(block, pads, mode=mode)
            with torch.no_grad():
                pred = net(torch.from_numpy(np.ascontiguousarray(block[None], dtype=np.float32))).numpy()[0]
            crop = tuple(slice(0, v) for v in valid)
            w = win[crop]
            out_sl = tuple(slice(int(o), int(o) + v) for o, v in zip(origin, valid))
            out[(slice(None),) + out_sl] += pred[(slice(None),) + crop] * w
            weight[out_sl] += w
            if progress is not None:
                progress(n + 1, len(positions))
    finally:
        net.train(was_training)
    out /= weight
    return out
