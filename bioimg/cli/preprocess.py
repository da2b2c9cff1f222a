"""``bioimg preprocess IN OUT``: resample, denoise and normalise one image.

Steps run in this order, each only when asked: ``--isotropic`` (resample to
cubic voxels of the finest spacing), ``--diffusion`` (Perona-Malik, per
channel and time point, aware of the voxel spacing), ``--normalize``
(per channel). The result is written as float32 with the new spacing.

Batch mode: with IN a folder or a glob and OUT a folder, every image is
processed (``--workers`` threads, or a dask cluster with ``--scheduler``)
into OUT under its own name; images whose output exists are skipped unless
``--overwrite``.

Examples
--------
$ bioimg preprocess mri.nii.gz mri_smooth.nii.gz --diffusion --niter 20 --kappa 30
$ bioimg preprocess stack.tif stack_norm.tif --isotropic --normalize percentile --clip
$ bioimg preprocess "raw/*.tif" norm/ --normalize percentile --workers 2
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from bioimg.io import read, write
from bioimg.preprocess import preprocess_image

from . import CLIError
from ._inputs import IMAGE_SUFFIXES, expand_inputs, stem


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``preprocess`` subcommand to ``bioimg``'s sub-parsers."""
    p = subparsers.add_parser(
        "preprocess", help="resample to isotropic voxels, denoise (anisotropic diffusion), normalise",
        description="Preprocess one image: --isotropic, then --diffusion, then --normalize (each "
                    "optional, in that order); writes float32 with the new voxel size.")
    p.add_argument("input", metavar="IN", help="image file (TIFF/OME-TIFF, NIfTI, DICOM) or slice folder")
    p.add_argument("output", metavar="OUT", help="output file: .tif, .ome.tif, .nii or .nii.gz")
    d = p.add_argument_group("anisotropic diffusion (edge-preserving smoothing)")
    d.add_argument("--diffusion", action="store_true", help="apply Perona-Malik diffusion")
    d.add_argument("--niter", type=int, default=None, help="iterations (default: 10)")
    d.add_argument("--kappa", type=float, default=None,
                   help="edge threshold in intensity units per pixel of the finest axis (default: 50)")
    d.add_argument("--gamma", type=float, default=None,
                   help="step size, stable up to 1/(2 sum 1/h_i^2) with h relative to the finest axis: "
                        "0.25 in 2-D, 1/6 in 3-D for isotropic voxels (default: 0.1)")
    d.add_argument("--option", type=int, choices=(1, 2), default=None,
                   help="conductance: 1 = exp(-(d/kappa)^2) favours high-contrast edges, "
                        "2 = 1/(1+(d/kappa)^2) favours wide regions (default: 1)")
    n = p.add_argument_group("normalisation (per channel)")
    n.add_argument("--normalize", choices=("percentile", "zscore", "minmax", "none"), default="none",
                   help="intensity normalisation (default: none)")
    n.add_argument("--pmin", type=float, default=None, help="low percentile mapped to 0 (default: 1.0)")
    n.add_argument("--pmax", type=float, default=None, help="high percentile mapped to 1 (default: 99.8)")
    n.add_argument("--clip", action="store_true", help="clip normalised values to [0, 1]")
    p.add_argument("--isotropic", action="store_true",
                   help="resample (linear) to cubic voxels of the finest spacing first")
    b = p.add_argument_group("batch mode (IN a folder or glob, OUT a folder)")
    b.add_argument("--workers", type=int, default=1, help="images processed in parallel (threads; default 1)")
    b.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a dask.distributed cluster, e.g. tcp://host:8786")
    b.add_argument("--overwrite", action="store_true",
                   help="process again images whose output already exists in OUT (default: skip them)")
    p.set_defaults(func=run)
    return p


def _check(args: argparse.Namespace) -> None:
    """Reject option combinations that would be silently ignored."""
    diff_opts = [f"--{k}" for k in ("niter", "kappa", "gamma", "option") if getattr(args, k) is not None]
    if diff_opts and not args.diffusion:
        raise CLIError(f"{', '.join(diff_opts)} {'needs' if len(diff_opts) == 1 else 'need'} --diffusion")
    if (args.pmin is not None or args.pmax is not None) and args.normalize != "percentile":
        raise CLIError("--pmin/--pmax only apply with --normalize percentile")
    if args.clip and args.normalize not in ("percentile", "minmax"):
        raise CLIError("--clip only applies with --normalize percentile or minmax")
    if args.niter is not None and args.niter < 0:
        raise CLIError(f"--niter must be >= 0, got {args.niter}")
    if args.kappa is not None and not args.kappa > 0:
        raise CLIError(f"--kappa must be > 0, got {args.kappa}")
    if args.gamma is not None and not args.gamma > 0:
        raise CLIError(f"--gamma must be > 0, got {args.gamma}")
    pmin = 1.0 if args.pmin is None else args.pmin
    pmax = 99.8 if args.pmax is None else args.pmax
    if not 0 <= pmin < pmax <= 100:
        raise CLIError(f"need 0 <= --pmin < --pmax <= 100, got {pmin} and {pmax}")


def _steps(args: argparse.Namespace) -> tuple[dict | None, dict | None]:
    """The diffusion and normalisation parameters asked for (``None`` when off)."""
    diffusion = normalization = None
    if args.diffusion:
        diffusion = {"niter": 10 if args.niter is None else args.niter,
                     "kappa": 50.0 if args.kappa is None else args.kappa,
                     "gamma": 0.1 if args.gamma is None else args.gamma,
                     "option": 1 if args.option is None else args.option}
    if args.normalize != "none":
        normalization = {"method": args.normalize}
        if args.normalize == "percentile":
            normalization.update(pmin=1.0 if args.pmin is None else args.pmin,
                                 pmax=99.8 if args.pmax is None else args.pmax)
        if args.normalize in ("percentile", "minmax"):
            normalization["clip"] = args.clip
    return diffusion, normalization


def run(args: argparse.Namespace) -> int:
    """Read, process and write; print what was done."""
    _check(args)
    if is_batch(args.input, args.output):
        return run_batch_mode(args, *_steps(args))
    if args.workers != 1 or args.scheduler or args.overwrite:
        raise CLIError("--workers/--scheduler/--overwrite need batch mode (IN a folder or glob, OUT a folder)")
    image = read(args.input)
    diffusion, normalization = _steps(args)
    niter = diffusion["niter"] if diffusion else 0
    with tqdm(total=niter, desc="diffusion", unit="it", file=sys.stderr, mininterval=0.2,
              dynamic_ncols=True, disable=niter == 0) as bar:
        def progress(i: int, total: int) -> None:
            bar.update(i - bar.n)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                result, params = preprocess_image(image, isotropic=args.isotropic, diffusion=diffusion,
                                                  normalization=normalization, progress=progress)
            except ValueError as exc:
                raise CLIError(f"{args.input}: {exc}") from None
    for w in caught:
        print(f"bioimg preprocess: warning: {w.message}", file=sys.stderr)
    done = [("isotropic " + "x".join(f"{s:g}" for s in result.spacing)) if args.isotropic else "",
            "diffusion" if diffusion else "", f"normalize {args.normalize}" if normalization else ""]
    path = write(args.output, result)
    out = result.data
    print(f"{path}: {' x '.join(map(str, out.shape))} {out.dtype}; {', '.join(d for d in done if d) or 'copied'}")
    if params is not None:
        print("normalization: " + json.dumps(params))
    return 0


def is_batch(src: str, dst: str) -> bool:
    """Batch mode: IN a glob or a folder, OUT a folder (not an image file name)."""
    dst_is_file = Path(dst).name.lower().endswith(IMAGE_SUFFIXES) and not Path(dst).is_dir()
    if any(ch in src for ch in "*?["):
        if dst_is_file:
            raise CLIError(f"IN {src!r} is a pattern: OUT must be a folder, not {dst}")
        return True
    return Path(src).is_dir() and not dst_is_file


def _batch_items(src: str) -> list[Path]:
    """Images of a batch; a folder holding only DICOM slices is one series."""
    files = expand_inputs([src], "IN")
    if Path(src).is_dir() and all(f.name.lower().endswith(".dcm") for f in files):
        return [Path(src)]
    return files


def _out_name(path: Path) -> str:
    """Output file name in batch mode: same stem, same format (DICOM becomes TIFF)."""
    name = path.name.lower()
    for suffix, out in ((".ome.tif", ".ome.tif"), (".ome.tiff", ".ome.tif"), (".nii.gz", ".nii.gz"),
                        (".nii", ".nii"), (".tif", ".tif"), (".tiff", ".tif")):
        if name.endswith(suffix):
            return stem(path) + out
    return stem(path) + ".tif"


def preprocess_file(path: Path, *, out_dir: Path, isotropic: bool, diffusion: dict | None,
                    normalization: dict | None) -> dict:
    """Read, preprocess and write one image of a batch; return its summary row."""
    image = read(path)
    result, _params = preprocess_image(image, isotropic=isotropic, diffusion=diffusion,
                                       normalization=normalization)
    out = write(Path(out_dir) / _out_name(path), result)
    return {"file": path.name, "shape": "x".join(map(str, result.shape)), "output": out.name}


def run_batch_mode(args: argparse.Namespace, diffusion: dict | None, normalization: dict | None) -> int:
    """Preprocess every image of IN into the folder OUT; exit code 2 if any failed."""
    from bioimg.metrics import format_table
    from bioimg.scale import run_batch

    if args.workers < 1:
        raise CLIError(f"--workers must be >= 1, got {args.workers}")
    items = _batch_items(args.input)
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    skipped = set() if args.overwrite else {p for p in items if (out_dir / _out_name(p)).exists()}
    todo = [p for p in items if p not in skipped]
    remote = bool(args.scheduler)  # cluster workers need absolute paths
    fn = functools.partial(preprocess_file, out_dir=out_dir.resolve() if remote else out_dir,
                           isotropic=args.isotropic,
                           diffusion=diffusion, normalization=normalization)
    with tqdm(total=len(todo), desc="preprocess", unit="file", file=sys.stderr,
              disable=len(todo) < 2) as bar:
        results = run_batch([p.resolve() if remote else p for p in todo], fn, workers=args.workers,
                            scheduler=args.scheduler, progress=lambda r: bar.update(1))
    done = dict(zip(todo, results))
    rows, failures = [], []
    for path in items:
        res = done.get(path)
        if res is None:
            rows.append({"file": path.name, "status": "skipped (exists)"})
        elif res.ok:
            rows.append({**res.value, "time_s": round(res.seconds, 2)})
        else:
            failures.append(f"{path}: {res.error}")
            rows.append({"file": path.name, "time_s": round(res.seconds, 2), "status": "failed"})
    cols = ("file", "shape", "time_s", "output", "status")
    print(format_table(rows, columns=[c for c in cols if any(c in r for r in rows)], floatfmt=".2f"))
    print(f"{len(todo) - len(failures)} image(s) preprocessed into {args.output}"
          + (f", {len(skipped)} skipped (exist)" if skipped else "")
          + (f", {len(failures)} failed" if failures else ""))
    for line in failures:
        print(f"bioimg preprocess: error: {line}", file=sys.stderr)
    return 2 if failures else 0
