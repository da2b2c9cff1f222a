"""``bioimg export MODEL.bioimg --output OUT.zip``: share a model beyond bioimg.

Writes a bioimage.io model package (model spec 0.5: ``rdf.yaml``, ONNX
weights, test input/output, cover image, README) that bioimageio.core,
deepImageJ, ilastik, QuPath ... can run, or with ``--format onnx`` only the
ONNX file. Needs the optional ``bioimg[export]`` packages.

Examples
--------
$ bioimg export nuclei.bioimg --output nuclei.zip --author "Ada Lovelace" --license MIT
$ bioimg export nuclei.bioimg --output nuclei.onnx --format onnx
"""
from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand to ``bioimg``'s sub-parsers."""
    p = subparsers.add_parser(
        "export", help="write a model as a bioimage.io package (zip) or an ONNX file",
        description="Write a trained .bioimg model as a bioimage.io model package (spec 0.5, ONNX "
                    "weights, test tensors, cover, README) or, with --format onnx, as an .onnx file.")
    p.add_argument("model", metavar="MODEL", help="a .bioimg model file")
    p.add_argument("--output", "-o", required=True, help="output .zip (package) or .onnx file")
    p.add_argument("--format", choices=("zip", "onnx"), default=None,
                   help="zip: bioimage.io package (default; .onnx outputs default to onnx)")
    p.add_argument("--image", help="image to crop the package's test input from "
                                   "(default: the bundled nuclei sample)")
    p.add_argument("--name", help="model name (default: task, architecture and dimensionality)")
    p.add_argument("--description", help="one-paragraph description")
    p.add_argument("--author", action="append", dest="authors", metavar="NAME",
                   help="author (repeatable; default: the current user)")
    p.add_argument("--license", default="CC-BY-4.0", help="SPDX licence id (default: CC-BY-4.0)")
    p.add_argument("--cite", action="append", metavar="TEXT|DOI_OR_URL",
                   help="citation 'text|doi' or 'text|https://...' (repeatable; default: the "
                        "architecture's paper)")
    p.add_argument("--tag", action="append", dest="tags", default=[], help="extra tag (repeatable)")
    p.add_argument("--pixel-size", help="physical pixel size per spatial axis, e.g. 0.5 or 2,0.5,0.5 "
                                        "(default: from the model or the --image file)")
    p.add_argument("--unit", help="unit of --pixel-size (um, nm, mm, ...)")
    p.set_defaults(func=run)
    return p


def _cite(values) -> list | None:
    if not values:
        return None
    out = []
    for v in values:
        text, _, ref = v.partition("|")
        if not text.strip() or not ref.strip():
            raise ValueError(f"--cite {v!r}: expected 'TEXT|DOI' or 'TEXT|URL'")
        key = "url" if "://" in ref else "doi"
        out.append({"text": text.strip(), key: ref.strip()})
    return out


def _pixel_size(text):
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--pixel-size {text!r}: expected numbers separated by commas") from None
    if any(not v > 0 for v in values):
        raise ValueError(f"--pixel-size {text!r}: sizes must be positive")
    return values


def run(args: argparse.Namespace) -> int:
    """Export; bad input is a one-line ValueError/OSError (exit code 2)."""
    from pathlib import Path

    from bioimg.zoo import export_model

    fmt = args.format or ("onnx" if str(args.output).lower().endswith(".onnx") else "zip")
    if not Path(args.model).is_file():
        raise ValueError(f"{args.model}: no such model file")
    try:
        out = export_model(args.model, args.output, fmt=fmt, image=args.image, name=args.name,
                           description=args.description, authors=args.authors,
                           license=args.license, cite=_cite(args.cite), tags=args.tags,
                           pixel_size=_pixel_size(args.pixel_size), unit=args.unit)
    except ImportError as exc:
        raise ValueError(str(exc)) from None
    what = "ONNX model" if fmt == "onnx" else "bioimage.io package"
    print(f"{what} written to {out}")
    return 0
