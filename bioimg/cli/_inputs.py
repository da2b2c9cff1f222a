"""Expanding CLI inputs (files, folders, globs) and naming outputs."""
from __future__ import annotations

import glob
from pathlib import Path

from . import CLIError

IMAGE_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".nii", ".nii.gz", ".dcm", ".dicom", ".ima")


def is_image_file(p: Path) -> bool:
    name = p.name.lower()
    return p.is_file() and name.endswith(IMAGE_SUFFIXES)


def expand_inputs(items: list[str], what: str = "input") -> list[Path]:
    """Files, folders (their image files, sorted) and glob patterns -> list of paths."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if any(ch in item for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item))
            if not matches:
                raise CLIError(f"{what} pattern {item!r} matches no file")
            out += [m for m in matches if m.is_file()]
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if is_image_file(f))
            if not files:
                raise CLIError(f"{what} folder {item} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            out += files
        elif p.exists():
            out.append(p)
        else:
            raise CLIError(f"{what} {item}: no such file or folder")
    return out


def stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def parse_sizes(text: str | None) -> tuple | None:
    """'128' or '32,64,64' -> tuple of ints."""
    if not text:
        return None
    try:
        return tuple(int(v) for v in str(text).replace("x", ",").split(","))
    except ValueError:
        raise CLIError(f"sizes must be integers like 128 or 32,64,64 (got {text!r})") from None
