"""``predict_tiled``: the engine's logits for an in-memory array (kept for callers and tests).

The tiling itself lives in :mod:`bioimg.inference.engine`; this is the
special case of writing every finished box into one numpy array.
"""
from __future__ import annotations

import numpy as np

from .engine import Source, _starts, blend_window, make_plan, run_tiles

__all__ = ["predict_tiled", "blend_window", "_starts"]


def predict_tiled(net, image: np.ndarray, out_channels: int, tile, overlap, multiple: int = 1,
                  progress=None, cancel=None) -> np.ndarray:
    """Run ``net`` over ``image`` (C, *spatial) in overlapping tiles; return (out_channels, *spatial).

    Tiles are blended with ``blend_window``; a tile larger than the image
    shrinks to the image (rounded up to ``multiple`` and padded by reflection).
    ``progress(done, total)`` is called per tile; ``cancel()`` returning True
    raises ``InterruptedError``.
    """
    plan = make_plan(image.shape[1:], tile, overlap, multiple)
    out = np.zeros((out_channels,) + tuple(image.shape[1:]), dtype=np.float32)

    def emit(box, logits):
        out[(slice(None),) + box] = logits

    run_tiles(net, Source(image), out_channels, plan, emit, progress=progress, cancel=cancel)
    return out
