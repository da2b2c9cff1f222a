"""npe2 writers: Image and Labels layers to TIFF, OME-TIFF or NIfTI through ``bioimg.io.write``.

The layer ``scale`` becomes the voxel spacing, and the axes, unit and
source metadata read by the plugin (e.g. a NIfTI affine) are written back,
so a file opened and saved again keeps its geometry.
"""
from __future__ import annotations

from typing import Any

from ._layers import image_from_state


def write_image(path: str, data: Any, meta: dict) -> list[str]:
    """Write one Image layer.

    Parameters
    ----------
    path : str
        Output file; the format follows the extension (``.tif``, ``.tiff``,
        ``.ome.tif``, ``.nii``, ``.nii.gz``).
    data : array-like
        The layer data (the first level of a multiscale layer).
    meta : dict
        The layer state napari passes (``scale``, ``metadata``, ``name``...).

    Returns
    -------
    list of str
        The written file.

    Raises
    ------
    bioimg.io.ImageWriteError
        Naming the file and the reason (e.g. a layout NIfTI cannot store).
    """
    from bioimg.io import write

    return [str(write(path, image_from_state(data, meta)))]


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    """Write one Labels layer (integer ids kept; 64-bit ids shrink to the smallest type that holds them).

    Parameters
    ----------
    path : str
        Output file (``.tif``, ``.tiff``, ``.ome.tif``, ``.nii``, ``.nii.gz``).
    data : array-like
        The label ids.
    meta : dict
        The layer state napari passes.

    Returns
    -------
    list of str
        The written file.
    """
    return write_image(path, data, meta)
