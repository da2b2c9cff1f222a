"""``bioimg predict``: apply a .bioimg model to files, folders or globs.

Outputs follow the input's format (NIfTI/DICOM -> ``.nii.gz`` with the
input's affine, OME-TIFF -> ``.ome.tif``, else ``.tif``): see ``_outputs``.
"""
from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

from . import CLIError
import numpy as np

from ._inputs import expand_inputs, parse_sizes
from ._inputs import stem as _file_stem
from ._outputs import LARGE_FORMATS, LARGE_MPX, NIFTI_OUT, OME_OUT, TIFF_OUT, ZARR_IN, for_format, output_suffix

# formats read lazily first (pixels stay on disk until a tile needs them)
_LAZY_IN = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".tf8", ".tf2") + ZARR_IN
_NIFTI_IN = (".nii", ".nii.gz")  # lazy only when large (see _open)


def stem(path: Path) -> str:
    """Output stem of an input (``cells.ome.zarr`` -> ``cells``, ``a.ome.tif`` -> ``a``)."""
    if path.name.lower().endswith(ZARR_IN):
        from bioimg.io._zarr import zarr_name

        return zarr_name(path)
    return _file_stem(path)


def _expand(items: list[str]) -> list[Path]:
    """Like ``expand_inputs``, with ``.zarr`` / ``.ome.zarr`` directories as single images."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir() and p.name.lower().endswith(ZARR_IN):
            out.append(p)
        else:
            out += expand_inputs([item])
    return out


def _spatial_image(img, data, axes_out: str):
    """An Image with the input's spatial geometry around ``data``."""
    spatial = img.spatial_axes
    spacing = tuple(img.spacing[spatial.index(a)] for a in axes_out if a in spatial)
    return img.with_data(data, axes=axes_out, spacing=spacing)


def _suffix_of(img) -> str:
    """Output suffix from the image's source format (callers without the input path)."""
    fmt = img.metadata.get("format")
    return NIFTI_OUT if fmt in ("nifti", "dicom") else OME_OUT if fmt == "ome-tiff" else TIFF_OUT


def write_prediction(img, pred, out_dir: Path, name: str, probabilities: bool,
                     suffix: str | None = None) -> list[Path]:
    """Write a Prediction next to its source name; returns the written paths (atomic writes).

    ``suffix`` (``.nii.gz``, ``.ome.tif`` or ``.tif``; default: from the
    source format in ``img.metadata``) chooses the format; the outputs keep
    the input's voxel size and, for NIfTI, its affine.
    """
    from bioimg.io import write

    suffix = suffix or _suffix_of(img)
    spatial = img.spatial_axes
    written = []

    def put(kind, data, axes):
        image = for_format(_spatial_image(img, data, axes), suffix)
        written.append(write(out_dir / f"{name}_{kind}{suffix}", image))

    if pred.labels is not None:
        put("labels", pred.labels, spatial)
    if pred.image is not None:
        put("denoised", pred.image, spatial if pred.image.ndim == len(spatial) else "C" + spatial)
    if probabilities and pred.probabilities is not None and pred.probabilities.ndim > 1:
        put("probabilities", pred.probabilities.astype("float32"), "C" + spatial)
    return written


def expected_outputs(out_dir: Path, name: str, probabilities: bool,
                     suffix: str = TIFF_OUT) -> list[list[Path]]:
    """Alternative output sets of one input: labels or denoised image (+ probabilities).

    ``suffix`` is ``output_suffix(input_path)``, as ``predict_file`` writes.
    """
    extra = [out_dir / f"{name}_probabilities{suffix}"] if probabilities else []
    return [[out_dir / f"{name}_labels{suffix}"] + extra, [out_dir / f"{name}_denoised{suffix}"]]


def outputs_exist(out_dir: Path, name: str, probabilities: bool, suffix: str = TIFF_OUT) -> bool:
    """True when the outputs of a previous run for ``name`` are all in ``out_dir``."""
    return any(all(p.exists() for p in group)
               for group in expected_outputs(out_dir, name, probabilities, suffix))


@functools.lru_cache(maxsize=4)
def _cached_model(path: str):
    """Load a model once per process (distributed workers get the path, not the model)."""
    from bioimg.modelfile import load_model

    return load_model(path)


def _open(path: Path, threshold_mpx: float):
    """(image, large): lazy first where the format allows, so a large input is never loaded whole."""
    from bioimg.io import read
    from bioimg.scale._predict_large import should_stream

    name = path.name.lower()
    if name.endswith(_NIFTI_IN):
        # a lazy .nii.gz is inflated once into a temporary file: only worth it when streamed,
        # which the header alone tells
        declared = _nifti_pixels(path)
        if declared is not None and threshold_mpx >= 0 and declared > threshold_mpx * 1e6:
            return read(path, lazy=True), True
    if path.is_dir() or name.endswith(_LAZY_IN):
        lazy = read(path, lazy=True)
        if should_stream(lazy, threshold_mpx):
            return lazy, True
        return (read(path) if not path.is_dir() else lazy.with_data(np.asarray(lazy.data))), False
    img = read(path)
    return img, should_stream(img, threshold_mpx)


def _nifti_pixels(path: Path) -> int | None:
    """Pixels a NIfTI header declares (no voxel read), or None when it cannot be read
    (the full reader then says what is wrong with the file)."""
    try:
        import nibabel as nib

        return int(np.prod([int(n) for n in nib.load(str(path)).header.get_data_shape()]))
    except Exception:
        return None


def _tiled(model) -> bool:
    """Whether the model predicts tile by tile (so large inputs stream): not classifiers (one
    answer per image or object) nor slice-wise volume models (one object per volume, resampled
    whole to their working grid; MRI-sized inputs)."""
    from bioimg.inference.volume import volume_settings

    return model.info.task != "classify" and volume_settings(model.info) is None


def predict_file(path: Path, *, model, out_dir: Path, tile, threshold: float, min_size: int,
                 probabilities: bool, large_mpx: float = LARGE_MPX, large_format: str = "ome-zarr",
                 tile_progress: bool = False) -> dict:
    """Read, predict and write one file; return its summary row.

    Parameters
    ----------
    path : Path
        Input image.
    model : BioimgModel or str
        A loaded model, or the path of a ``.bioimg`` file (loaded once per process).
    out_dir : Path
        Output folder.
    tile, threshold, min_size, probabilities
        As for :func:`bioimg.inference.predict` and :func:`write_prediction`.
    large_mpx : float
        Inputs above this many million pixels are read lazily and predicted
        straight into ``large_format`` outputs (a line on stderr says so).
    large_format : {"ome-zarr", "tiff"}
        OME-Zarr with a multiscale pyramid, or tiled BigTIFF.
    tile_progress : bool
        Show a per-tile progress bar for large inputs.

    Returns
    -------
    dict
        ``file``, ``shape`` and, when the model gives them, ``objects`` or ``class``/``probability``.
    """
    from bioimg.inference import predict

    if isinstance(model, (str, Path)):
        model = _cached_model(str(model))
    img, large = _open(path, large_mpx)
    if large and _tiled(model):
        pred = _predict_large(img, path, model, out_dir, tile, threshold, min_size, probabilities,
                              large_format, tile_progress)
    else:
        if not isinstance(img.data, np.ndarray):
            img = img.with_data(np.asarray(img.data))
        # small inputs finish before the bar's delay and print nothing; long ones (many tiles,
        # instance stitching) show their stages
        with _stage_bar(stem(path), tile_progress, delay=2.0) as progress:
            pred = predict(model, img, tile=tile, threshold=threshold, min_size=min_size, progress=progress)
        write_prediction(img, pred, out_dir, stem(path), probabilities, output_suffix(path))
    row = {"file": path.name, "shape": "x".join(map(str, img.shape))}
    if "objects" in pred.summary:
        row["objects"] = pred.summary["objects"]
    if "class" in pred.summary:
        row["class"] = pred.summary["class"]
        row["probability"] = round(pred.summary["probability"], 3)
    return row


@contextlib.contextmanager
def _stage_bar(name: str, show: bool, delay: float = 0.0):
    """A progress bar on stderr; yields the ``progress(done, total, stage=...)`` callback for it.

    It reads "NAME" per tile, then "NAME stitching" per block while instance labels are stitched
    (:mod:`bioimg.inference._progress`), each stage with its own total.
    """
    from tqdm import tqdm

    from bioimg.inference._progress import STAGE_UNITS

    with tqdm(desc=name, unit="tile", file=sys.stderr, disable=not show, leave=False, delay=delay) as bar:
        current = ["tiles"]

        def progress(done: int, total: int, stage: str = "tiles") -> None:
            if stage != current[0]:
                current[0] = stage
                bar.set_description(name if stage == "tiles" else f"{name} {stage}", refresh=False)
                bar.unit = STAGE_UNITS.get(stage, "step")
                bar.reset(total=total)
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def _predict_large(img, path, model, out_dir, tile, threshold, min_size, probabilities, fmt, show):
    from bioimg.scale._predict_large import large_suffix, predict_large

    name = stem(path)
    size = "x".join(str(img.shape[img.axes.index(a)]) for a in img.spatial_axes)
    kind = "OME-Zarr with a multiscale pyramid" if fmt == "ome-zarr" else "tiled TIFF"
    print(f"bioimg predict: {path.name} is large ({size}, {img.data.size / 1e6:.0f} Mpx): reading it lazily "
          f"and writing {kind} ({name}_*{large_suffix(fmt)})", file=sys.stderr, flush=True)
    with _stage_bar(name, show) as progress:
        pred, _ = predict_large(model, img, out_dir, name, fmt=fmt, tile=tile, threshold=threshold,
                                min_size=min_size, probabilities=probabilities, progress=progress)
    return pred


def run(args) -> int:
    from tqdm import tqdm

    from bioimg.metrics import format_table
    from bioimg.modelfile import load_model
    from bioimg.scale import run_batch

    if args.workers < 1:
        raise CLIError(f"--workers must be >= 1, got {args.workers}")
    # Load here even for a cluster: a bad model file fails fast, before any work is sent.
    model = load_model(args.model)
    inputs = _expand(args.inputs)
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.large_threshold < 0:
        raise CLIError(f"--large-threshold must be >= 0 (million pixels), got {args.large_threshold}")
    skipped = set() if args.overwrite else {
        p for p in inputs if any(outputs_exist(out_dir, stem(p), args.probabilities, sfx)
                                 for sfx in (output_suffix(p),) + tuple(LARGE_FORMATS.values()))}
    todo = [p for p in inputs if p not in skipped]
    fn = functools.partial(
        predict_file, model=str(Path(args.model).resolve()) if args.scheduler else model,
        out_dir=out_dir.resolve() if args.scheduler else out_dir, tile=parse_sizes(args.tile),
        threshold=args.threshold, min_size=args.min_size, probabilities=args.probabilities,
        large_mpx=args.large_threshold, large_format=args.large_format,
        tile_progress=not args.scheduler and args.workers == 1)
    # on a cluster, one large image is split across the workers by blocks of tiles
    split = [p for p in todo if _large_on_cluster(p, args, model)] if args.scheduler else []
    todo_files = [p for p in todo if p not in split]
    with tqdm(total=len(todo_files), desc="predict", unit="file", file=sys.stderr,
              disable=len(todo_files) < 2) as bar:
        batch = run_batch([p.resolve() if args.scheduler else p for p in todo_files], fn,
                          workers=args.workers, scheduler=args.scheduler, progress=lambda r: bar.update(1))
    results = dict(zip(todo_files, batch))
    results.update(_split_on_cluster(split, args, model, out_dir))
    rows, failures = [], []
    for path in inputs:
        if path in skipped:
            rows.append({"file": path.name, "status": "skipped (exists)"})
            continue
        res = results[path]
        if res.ok:
            rows.append({**res.value, "time_s": round(res.seconds, 2)})
        else:
            failures.append(f"{path}: {res.error}")
            rows.append({"file": path.name, "time_s": round(res.seconds, 2), "status": "failed"})
    if rows:
        print(format_table(rows, columns=[c for c in ("file", "shape", "time_s", "objects", "class",
                                                       "probability", "status")
                                          if any(c in r for r in rows)], floatfmt=".2f"))
    done = len(todo) - len(failures)
    print(f"{done} file(s) predicted into {out_dir}" + (f", {len(skipped)} skipped (exist)" if skipped else "")
          + (f", {len(failures)} failed" if failures else ""))
    for line in failures:
        print(f"bioimg predict: error: {line}", file=sys.stderr)
    return 2 if failures else 0


def _large_on_cluster(path: Path, args, model) -> bool:
    """A large input for a dense model: split across the cluster's workers rather than sent whole."""
    if not _tiled(model):
        return False
    try:
        return _open(path, args.large_threshold)[1]
    except (ValueError, OSError):
        return False  # unreadable: the per-file path reports it


def _split_on_cluster(paths: list[Path], args, model, out_dir: Path) -> dict:
    """Predict each large image block-parallel on ``args.scheduler``; BatchResults by path."""
    if not paths:
        return {}
    from distributed import Client

    from bioimg.io import read
    from bioimg.scale._batch import _timed
    from bioimg.scale._predict_large import predict_large

    def one(path: Path) -> dict:
        img = read(path, lazy=True)
        print(f"bioimg predict: {path.name} is large: split across the cluster's workers, writing "
              f"{args.large_format} outputs", file=sys.stderr, flush=True)
        with _stage_bar(stem(path), True) as progress:
            pred, _ = predict_large(model, img, out_dir.resolve(), stem(path), fmt=args.large_format,
                                    tile=parse_sizes(args.tile), threshold=args.threshold,
                                    min_size=args.min_size, probabilities=args.probabilities, client=client,
                                    model_path=str(Path(args.model).resolve()), image_path=str(path.resolve()),
                                    progress=progress)
        row = {"file": path.name, "shape": "x".join(map(str, img.shape))}
        if "objects" in pred.summary:
            row["objects"] = pred.summary["objects"]
        return row

    try:
        client = Client(args.scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise OSError(f"cannot connect to dask scheduler {args.scheduler}: {exc}") from None
    try:
        return {p: _timed(one, p) for p in paths}
    finally:
        client.close()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="apply a trained .bioimg model",
        description="Apply a trained .bioimg model. Outputs follow each input's format: NIfTI and "
                    "DICOM -> NAME_labels.nii.gz (with the input's affine), OME-TIFF -> .ome.tif, "
                    "other TIFF -> .tif; all keep the voxel size.")
    p.add_argument("inputs", nargs="+", help="image files, folders, globs or .ome.zarr directories")
    p.add_argument("--model", required=True, help="model file (.bioimg)")
    p.add_argument("--output", required=True,
                   help="output folder (NAME_labels / NAME_probabilities / NAME_denoised in the input's format)")
    p.add_argument("--tile", help="tile size, e.g. 256 or 64,128,128")
    p.add_argument("--threshold", type=float, default=0.5, help="foreground probability threshold")
    p.add_argument("--min-size", type=int, default=10, help="smallest object kept (pixels)")
    p.add_argument("--probabilities", action="store_true", help="also write class probabilities")
    big = p.add_argument_group("large images")
    big.add_argument("--large-threshold", type=float, default=LARGE_MPX, metavar="MPX",
                     help=f"inputs above this many million pixels (default {LARGE_MPX:g}) are read lazily, "
                          "predicted tile by tile in bounded memory and written as --large-format")
    big.add_argument("--large-format", choices=sorted(LARGE_FORMATS), default="ome-zarr",
                     help="output of large inputs: OME-Zarr (NGFF 0.5, multiscale; default) or tiled TIFF")
    b = p.add_argument_group("batch processing")
    b.add_argument("--workers", type=int, default=1, help="files processed in parallel (threads; default 1)")
    b.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a dask.distributed cluster, e.g. tcp://host:8786 (files go to workers; "
                        "a large image is split across them by blocks of tiles)")
    b.add_argument("--overwrite", action="store_true",
                   help="predict again files whose outputs already exist in --output (default: skip them)")
    p.set_defaults(func=run)
