"""Locate the real sample images shipped in the repository's ``sample_data/``."""
from __future__ import annotations

import os
from pathlib import Path

SAMPLES = {
    "nuclei2d": ("nuclei2d_image.tif", "nuclei2d_labels.tif"),
    "nuclei3d": ("nuclei3d_image.tif", "nuclei3d_pseudo_labels.tif"),
    "mri": ("mri_epi_aniso.nii.gz", None),
}


def sample_dir() -> Path:
    """``$BIOIMG_SAMPLE_DATA`` or the repository's ``sample_data/`` folder."""
    env = os.environ.get("BIOIMG_SAMPLE_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1] / "sample_data")
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError("sample_data/ not found: install bioimg from its repository "
                            "(pip install -e .) or set BIOIMG_SAMPLE_DATA")


def sample_paths(name: str) -> tuple[Path, Path | None]:
    """(image path, labels path or None) of a named sample."""
    try:
        image, labels = SAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}") from None
    d = sample_dir()
    return d / image, (d / labels if labels else None)
