"""One large image split across ``dask.distributed`` workers by blocks of tiles.

:func:`predict_distributed` computes the normalization statistics once (on
the client, chunk by chunk), creates the output zarr arrays, then sends one
task per block of tile rows: each worker opens the image lazily from its
path, runs the engine on its boxes only (:func:`bioimg.inference.engine.run_tiles`
with ``boxes``: the same tiles, weights and summation order as one process,
so the result is bit-identical) and writes them into the shared store. Block
borders fall on output chunk borders, so no two workers write one chunk.
Instance labels are then stitched on the client from the written
probabilities (:func:`bioimg.inference.instances_blockwise`, bounded memory).

The store must be on a file system every worker sees (the same machine, or
a shared disk).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

__all__ = ["predict_distributed"]


@functools.lru_cache(maxsize=4)
def _model(path: str):
    from ..modelfile import load_model

    return load_model(path)


def _input(model, image_path: str, norm: dict):
    """The engine input on a worker: the image opened lazily, normalized with the client's statistics."""
    from ..inference._input import PreparedInput, channel_first_lazy
    from ..inference.engine import Source
    from ..io import read
    from ..preprocess import apply_normalization

    arr, spatial = channel_first_lazy(read(image_path, lazy=True), None)
    prep = ((lambda b: apply_normalization(b, norm)) if norm.get("method") != "none"
            else (lambda b: np.asarray(b, dtype=np.float32)))
    return PreparedInput(Source(arr, prep), spatial, tuple(int(s) for s in arr.shape[1:]),
                         int(arr.shape[0]), norm, None)


def _block_task(model_path: str, image_path: str, norm: dict, tile: tuple, overlap: tuple,
                rows: tuple, stores: dict, probabilities: bool) -> str:
    """Predict the boxes ``rows = (lo, hi)`` along the first axis into the zarr arrays at ``stores``."""
    import zarr

    from ..inference.dense import predict_dense

    model = _model(model_path)
    inp = _input(model, image_path, norm)
    boxes = (tuple(rows),) + tuple((0, len(s)) for s in _plan(model, inp.shape, tile, overlap).starts[1:])
    predict_dense(model, inp, tile=tile, overlap=overlap, probabilities=probabilities, boxes=boxes,
                  allocate=lambda name, shape, dtype: (zarr.open_array(stores[name], mode="r+")
                                                       if name in stores else None))
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


def _plan(model, shape, tile, overlap):
    from ..inference.engine import make_plan

    return make_plan(shape, tile, overlap, getattr(model.net, "size_multiple", 1))


def _tiles_in(plan, rows: tuple) -> int:
    """Tiles a block task runs (its boxes ``rows`` along the first axis, every box along the others)."""
    from ..inference.engine import _tile_range

    boxes = (tuple(rows),) + tuple((0, g) for g in plan.grid[1:])
    return int(np.prod([len(r) for r in _tile_range(plan, boxes)]))


def _gather(client, futures: list, sizes: list, progress, cancel) -> list:
    """Results of ``futures`` in order; ``progress(tiles done, tiles)`` as each block task ends.

    ``cancel()`` is checked whenever a task ends: True cancels the rest and raises ``InterruptedError``.
    """
    from distributed import as_completed

    index = {f.key: i for i, f in enumerate(futures)}
    results, done, total = [None] * len(futures), 0, sum(sizes)
    try:
        for fut in as_completed(futures):
            if cancel is not None and cancel():
                raise InterruptedError("prediction cancelled")
            i = index[fut.key]
            results[i] = fut.result()  # a worker's error is raised here
            done += sizes[i]
            if progress is not None:
                progress(done, total)
    except BaseException:
        client.cancel(futures)
        raise
    return results


def _store_path(arr) -> str:
    """Where a zarr array lives on disk, for workers to reopen it."""
    return os.path.join(str(arr.store.root), arr.path)


def predict_distributed(model_path, image_path, out_dir, client, *, tile=None, overlap=None,
                        probabilities: bool = True, blocks: int | None = None, threshold: float = 0.5,
                        min_size: int = 10, instance_block=None, instance_halo=None,
                        allocate=None, progress=None, cancel=None) -> dict:
    """Predict one image on a dask.distributed cluster, split by blocks of tile rows.

    Parameters
    ----------
    model_path, image_path : str or Path
        A ``.bioimg`` model and an image any worker can open (``bioimg.io.read(..., lazy=True)``).
    out_dir : str or Path
        Folder for the zarr outputs (``labels``, ``probabilities``, ``image``), visible to all workers.
    client : distributed.Client
        The cluster.
    tile, overlap, probabilities, threshold, min_size, instance_block, instance_halo
        As :func:`bioimg.inference.predict`.
    blocks : int, optional
        Number of tasks (default: twice the number of workers).
    allocate : callable, optional
        ``allocate(name, shape, dtype) -> zarr.Array`` on disk (e.g. OME-Zarr writers); default
        plain zarr arrays ``out_dir/<name>`` chunked by the tile step.
    progress, cancel : callable, optional
        As :func:`bioimg.inference.predict`: stage ``"tiles"`` as the workers' block tasks end
        (counted in tiles), then ``"stitching"`` per block of the instance labels on the client.
        ``cancel()`` is checked as each block task ends and before each stitching block.

    Returns
    -------
    dict
        Output name -> zarr array, ``"objects"`` (instance models) and ``"workers"``: the
        worker addresses that ran blocks.
    """
    import zarr

    from ..inference._input import prepare_input
    from ..inference._progress import staged
    from ..inference.dense import output_specs
    from ..inference.engine import default_tile
    from ..inference.predict import _relative_spacing
    from ..inference.stitch import instances_blockwise
    from ..io import read

    model_path, image_path = str(Path(model_path).resolve()), str(Path(image_path).resolve())
    model = _model(model_path)
    info = model.info
    if info.task == "classify":
        raise ValueError("distributed prediction needs a dense model, not 'classify'")
    image = read(image_path, lazy=True)
    inp = prepare_input(image, None, info.normalization, "they are predicted as background")
    if len(inp.shape) != model.ndim:
        raise ValueError(f"the model works on {model.ndim}D images; {image_path} is {len(inp.shape)}D")
    tile, overlap = default_tile(info.patch_size, model.ndim, getattr(model.net, "size_multiple", 1),
                                 tile, overlap)
    plan = _plan(model, inp.shape, tile, overlap)
    step = tuple(t - o for t, o in zip(plan.tile, plan.overlap))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def plain(name, shape, dtype):
        lead = len(shape) - len(inp.shape)
        chunks = (1,) * lead + tuple(min(s, n) for s, n in zip(step, inp.shape))  # box borders on chunk borders
        return zarr.open_array(str(out_dir / name), mode="w", shape=shape, dtype=dtype, chunks=chunks,
                               fill_value=0)

    allocate = allocate or plain
    outs = {name: allocate(name, shape, dtype)
            for name, (shape, dtype) in output_specs(model, inp.shape, inp.channels, probabilities).items()}
    outs = {k: v for k, v in outs.items() if v is not None}
    # split between boxes whose first row starts a chunk, so no two workers write one chunk
    # (tile starts are k * step: see bioimg.inference.engine._starts)
    rows = plan.grid[0]
    chunk0 = min(a.chunks[a.ndim - len(inp.shape)] for a in outs.values())
    ok = [k for k in range(1, rows) if plan.starts[0][k] % chunk0 == 0]
    n = max(1, min(blocks or 2 * len(client.scheduler_info()["workers"]), len(ok) + 1))
    cuts = sorted({0, rows} | {ok[int(i * len(ok) / n)] for i in range(1, n)} if ok else {0, rows})
    stores = {name: _store_path(a) for name, a in outs.items()}
    tasks = [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]
    futures = [client.submit(_block_task, model_path, image_path, inp.norm, plan.tile, plan.overlap,
                             rows, stores, probabilities, pure=False) for rows in tasks]
    workers = _gather(client, futures, [_tiles_in(plan, rows) for rows in tasks],
                      staged(progress, "tiles"), cancel)
    if info.task == "instance":
        ids = plain("instance_ids", inp.shape, np.uint32)
        made = {}

        def final(count):
            made["labels"] = allocate("labels", inp.shape, np.uint16 if count < 65535 else np.uint32)
            return made["labels"]

        import shutil

        try:
            outs["objects"] = instances_blockwise(
                outs["probabilities"], ids, block=instance_block, halo=instance_halo, threshold=threshold,
                min_size=min_size, spacing=_relative_spacing(image, model.ndim), final=final,
                progress=staged(progress, "stitching"), cancel=cancel)
        finally:  # provisional ids are scratch, also when cancelled
            shutil.rmtree(out_dir / "instance_ids", ignore_errors=True)
        outs["labels"] = made["labels"]
    outs["workers"] = sorted(set(workers))
    return outs
