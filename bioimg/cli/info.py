"""``bioimg info FILE...``: what ``bioimg.io.read`` sees in each file.

Prints, per file or folder: path, format, shape, dtype, axes, spacing with
unit, value range, and the orientation of NIfTI/DICOM volumes.

Examples
--------
$ bioimg info sample_data/nuclei3d_image.tif
sample_data/nuclei3d_image.tif
  format:   imagej-tiff
  shape:    32 x 128 x 128
  ...
"""
from __future__ import annotations

import argparse
import math

from bioimg.io import Image, read
from bioimg.io._dtypes import value_range


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``info`` subcommand to ``bioimg``'s sub-parsers."""
    parser = subparsers.add_parser(
        "info", help="show shape, axes, voxel size and value range of images",
        description="Show what bioimg reads from each image file or folder: shape, dtype, axes, "
                    "voxel spacing with unit, value range and (NIfTI/DICOM) orientation.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="TIFF/OME-TIFF, NIfTI (.nii, .nii.gz), DICOM file, a folder of TIFF/DICOM slices, "
                             "or a .bioimg model file")
    parser.add_argument("--series", type=int, default=0,
                        help="series to read from multi-series TIFF files or DICOM folders (default: 0)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the summary of every file; a bad file stops with its error."""
    for i, path in enumerate(args.files):
        if i:
            print()
        if str(path).lower().endswith(".bioimg"):
            print(describe_model(path))
        else:
            print(describe(read(path, series=args.series), str(path)))
    return 0


def describe_model(path) -> str:
    """Summary of a ``.bioimg`` model file, after the same checks as loading it (weights included)."""
    from bioimg.modelfile import load_model, read_info
    from bioimg.models import count_parameters

    # Every weight is verified too (checksum, shape, NaN/inf): `info` must not vouch for a file
    # that `predict` would refuse. Bounded by the loader's limits; model files are small.
    model = load_model(path)
    info, config = model.info, read_info(path)[1]
    extra = info.extra or {}
    arch = ", ".join(f"{k} {v}" for k, v in info.config.items())
    last = info.history[-1] if info.history else {}
    lines = [str(path),
             f"  task:     {info.task} ({info.architecture}: {arch}; {count_parameters(model.net):,} parameters)",
             f"  axes:     {info.axes}, patch {' x '.join(map(str, info.patch_size)) or '-'}",
             f"  classes:  {', '.join(map(str, info.class_names)) or '-'}"]
    if "label_kind" in extra:
        lines.append(f"  labels:   {extra['label_kind']} (class 0 is written as {extra.get('label_offset', 1)})")
    if info.history:
        metric = last.get("val_metric")
        lines.append(f"  trained:  {len(info.history)} epoch(s), {last.get('step', '?')} steps"
                     + (f", last val metric {metric:.3f}" if isinstance(metric, (int, float)) else ""))
    lines.append(f"  bioimg:   {config.get('bioimg_version', '?')} (model file version {config['version']})")
    return "\n".join(lines)


def describe(image: Image, path: str) -> str:
    """Multi-line human-readable summary of ``image`` read from ``path``.

    Examples
    --------
    >>> import numpy as np
    >>> print(describe(Image(np.arange(6, dtype=np.uint8).reshape(2, 3), "YX", (0.5, 0.5), "micrometer"), "a.tif"))
    a.tif
      format:   unknown
      shape:    2 x 3
      dtype:    uint8
      axes:     YX
      spacing:  Y 0.5, X 0.5 micrometer
      range:    0 .. 5
    """
    meta = image.metadata
    spacing = ", ".join(f"{a} {_num(s)}" for a, s in zip(image.spatial_axes, image.spacing))
    lo, hi = value_range(image.data)
    lines = [
        path,
        f"  format:   {meta.get('format', 'unknown')}",
        f"  shape:    {' x '.join(str(n) for n in image.shape)}",
        f"  dtype:    {image.dtype}" + ("  (memory-mapped)" if _is_memmap(image) else ""),
        f"  axes:     {image.axes}",
        f"  spacing:  {spacing} {image.unit}",
        f"  range:    {_num(lo)} .. {_num(hi)}",
    ]
    if "orientation" in meta:
        lines.append(f"  orientation: {meta['orientation']} (voxel axes x, y, z)")
    if "time_step" in meta:
        lines.append(f"  time step: {_num(meta['time_step'])} {meta.get('time_unit', '')}".rstrip())
    return "\n".join(lines)


def _is_memmap(image: Image) -> bool:
    import numpy as np

    base = image.data
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None) if isinstance(base, np.ndarray) else None
    return False


def _num(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    return str(value)
