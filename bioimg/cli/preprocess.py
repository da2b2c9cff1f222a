"""``bioimg preprocess IN OUT``: resample, denoise and normalise one image.

Steps run in this order, each only when asked: ``--isotropic`` (resample to
cubic voxels of the finest spacing), ``--diffusion`` (Perona-Malik, per
channel and time point, aware of the voxel spacing), ``--normalize``
(per channel). The result is written as float32 with the new spacing.

Examples
--------
$ bioimg preprocess mri.nii.gz mri_smooth.nii.gz --diffusion --niter 20 --kappa 30
$ bioimg preprocess stack.tif stack_norm.tif --isotropic --normalize percentile --clip
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

from tqdm import tqdm

from bioimg.io import read, write
from bioimg.preprocess import preprocess_image

from . import CLIError


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


def run(args: argparse.Namespace) -> int:
    """Read, process and write; print what was done."""
    _check(args)
    image = read(args.input)
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
