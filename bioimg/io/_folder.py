"""Folders: a stack of 2-D TIFF slices, or a DICOM series."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._dicom import is_dicom_file
from ._errors import ImageReadError
from ._image import Image
from ._limits import check_array_bytes
from ._tiff import read_tiff

TIFF_SUFFIXES = (".tif", ".tiff")
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


def natural_key(name: str) -> list:
    """Sort key that puts ``slice_2`` before ``slice_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]


def read_folder(folder: Path, series: int = 0) -> Image:
    """Read a folder of TIFF slices (a Z stack) or of DICOM files (a series)."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: natural_key(p.name))
    tiffs = [p for p in files if p.suffix.lower() in TIFF_SUFFIXES]
    dicoms = [p for p in files if p.suffix.lower() in DICOM_SUFFIXES
              or (p.suffix.lower() not in TIFF_SUFFIXES and is_dicom_file(p))]
    if tiffs and dicoms:
        raise ImageReadError(folder, f"folder mixes {len(tiffs)} TIFF and {len(dicoms)} DICOM files")
    if dicoms:
        from ._dicom_frames import read_dicom_series

        return read_dicom_series(folder, dicoms, series)
    if not tiffs:
        raise ImageReadError(folder, "folder contains no TIFF or DICOM images")
    if series != 0:
        raise ImageReadError(folder, f"series {series} does not exist (a TIFF folder is one series)")
    return read_tiff_folder(folder, tiffs)


def read_tiff_folder(folder: Path, files: list[Path]) -> Image:
    """Stack 2-D TIFF slices (given in Z order) into a ``ZYX`` (or ``ZYXC``) image.

    Every slice must have the first slice's shape and dtype. Y/X spacing and
    unit come from the first slice, Z spacing from its ImageJ ``spacing``
    entry when present (else 1.0).
    """
    first = read_tiff(files[0], allow_memmap=False)
    if first.axes not in ("YX", "YXC"):
        raise ImageReadError(files[0], f"folder slices must be 2-D images, this one has axes {first.axes}")
    check_array_bytes(folder, float(len(files)) * first.data.nbytes, f"a stack of {len(files)} slices")
    stack = np.empty((len(files), *first.shape), first.dtype)
    stack[0] = first.data
    for i, f in enumerate(files[1:], start=1):
        img = read_tiff(f, allow_memmap=False)
        if img.shape != first.shape or img.dtype != first.dtype:
            raise ImageReadError(folder, f"slices disagree: '{f.name}' is {img.shape} {img.dtype}, "
                                 f"'{files[0].name}' is {first.shape} {first.dtype}")
        stack[i] = img.data
    dz = first.metadata.get("imagej", {}).get("spacing", 1.0)
    dz = float(dz) if isinstance(dz, (int, float)) and dz > 0 else 1.0
    meta = {"format": "tiff-folder", "n_files": len(files), "files": [f.name for f in files]}
    return Image(stack, "Z" + first.axes, (dz, *first.spacing), first.unit, folder.name, meta)
