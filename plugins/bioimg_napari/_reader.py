"""npe2 reader: TIFF/OME-TIFF, NIfTI, DICOM files and folders through ``bioimg.io.read``.

Layers get the voxel spacing as ``scale`` (so anisotropic stacks and MRI
volumes look right in 3D), the file name as their name, and open as Labels
when the file name says "label"/"mask"/"seg" or the data are integer ids.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ._layers import LayerData, image_to_layer_data

SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".nii", ".nii.gz", ".dcm")
_FOLDER_SUFFIXES = (".tif", ".tiff", ".dcm", ".dicom", ".ima")


def _readable(path: Path) -> bool:
    if path.is_dir():
        return any(f.is_file() and (f.name.lower().endswith(_FOLDER_SUFFIXES) or _is_dicom(f))
                   for f in path.iterdir())
    return path.name.lower().endswith(SUFFIXES)


def _is_dicom(path: Path) -> bool:
    """DICOM files in series folders often have no extension: look for the DICM magic."""
    if path.suffix:
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def napari_get_reader(path: str | os.PathLike | list) -> Callable[..., list[LayerData]] | None:
    """Return :func:`read_layers` if bioimg can read ``path`` (a path or a list of paths), else None.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        File(s) or folder(s) napari asks about.

    Returns
    -------
    callable or None
    """
    paths = path if isinstance(path, (list, tuple)) else [path]
    if not paths or not all(_readable(Path(os.fspath(p))) for p in paths):
        return None
    return read_layers


def read_layers(path: str | os.PathLike | list) -> list[LayerData]:
    """Read one or more files/folders into napari layer data.

    Parameters
    ----------
    path : str, os.PathLike or list of them

    Returns
    -------
    list of (data, kwargs, layer_type)
        ``kwargs`` hold ``name``, ``scale`` (voxel spacing), ``metadata``
        (axes, unit, source file) and, when the napari version supports it,
        ``units`` and ``axis_labels``.

    Raises
    ------
    bioimg.io.ImageReadError
        With the file name and the reason (napari shows it as a notification).

    Examples
    --------
    >>> layers = read_layers("sample_data/mri_epi_aniso.nii.gz")  # doctest: +SKIP
    >>> layers[0][1]["scale"]  # doctest: +SKIP
    (5.0, 4.0, 4.0)
    """
    from bioimg.io import read

    paths = path if isinstance(path, (list, tuple)) else [path]
    layers: list[LayerData] = []
    for p in paths:
        image = read(p)
        layers += image_to_layer_data(image, source=p)
    return layers
