"""npe2 reader: TIFF/OME-TIFF, NIfTI, DICOM files and folders, OME-Zarr directories, through ``bioimg.io``.

OME-Zarr (``.ome.zarr`` / ``.zarr``) opens lazily: every level of a
multiscale pyramid becomes a dask array and the layer is multiscale, so
napari reads only the chunks it shows.

Layers get the voxel spacing as ``scale`` (so anisotropic stacks and MRI
volumes look right in 3D), the file name as their name, and open as Labels
when the file name says "label"/"mask"/"seg" or the data are integer ids.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from typing import Callable

from ._layers import LayerData, image_to_layer_data

SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".nii", ".nii.gz", ".dcm")
_FOLDER_SUFFIXES = (".tif", ".tiff", ".dcm", ".dicom", ".ima")
ZARR_SUFFIXES = (".ome.zarr", ".zarr")


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and path.name.lower().endswith(ZARR_SUFFIXES)


def _readable(path: Path) -> bool:
    if _is_zarr(path):
        return True
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
        if _is_zarr(Path(os.fspath(p))):
            layers += _zarr_layers(Path(os.fspath(p)))
            continue
        image = read(p)
        layers += image_to_layer_data(image, source=p)
    return layers


def _zarr_layers(path: Path) -> list[LayerData]:
    """An OME-Zarr as lazy layer data: dask arrays, all pyramid levels when there are several."""
    import dask.array as da
    import zarr

    from bioimg.io import read

    image = read(path)  # lazy: metadata and level 0 as dask
    levels = [image.data]
    if image.metadata.get("levels", 1) > 1:
        group = zarr.open_group(str(path), mode="r")
        ms = (group.attrs.get("ome") or dict(group.attrs))["multiscales"][0]
        levels += [da.from_zarr(group[str(d["path"])]) for d in ms["datasets"][1:]]
    # guess Image vs Labels on the smallest level (a few chunks, not the image)
    probe = image.with_data(np.asarray(levels[-1])) if len(levels) > 1 else image
    out = []
    for data, kw, kind in image_to_layer_data(probe, source=path):
        if "channel_axis" in kw or kw.get("rgb"):
            return image_to_layer_data(image, source=path)  # rare for predictions: level 0, lazy
        out.append((levels if len(levels) > 1 else levels[0], {**kw, "multiscale": len(levels) > 1}, kind))
    return out
