"""Output files follow the input's format, so results overlay on their source.

* NIfTI in -> ``.nii.gz`` out with the input's affine, sform and qform (MRI
  viewers put labels and probabilities on the scan).
* DICOM in -> ``.nii.gz`` out with the affine ``bioimg.io`` derives from the
  DICOM geometry (scanner coordinates: sform/qform code 1).
* OME-TIFF or OME-Zarr in -> ``.ome.tif`` out with PhysicalSize*; any other input
  -> ``.tif`` (ImageJ hyperstack with the voxel size).
* Large inputs (``bioimg predict --large-threshold``) -> ``.ome.zarr`` (NGFF 0.5
  with a multiscale pyramid) or tiled ``.tif`` whatever the input format.

The suffix depends on the input path only (its name, and for a few formats its
first bytes), so a resumed batch knows which outputs to look for before it
reads any image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

NIFTI_OUT, OME_OUT, TIFF_OUT = ".nii.gz", ".ome.tif", ".tif"
_NIFTI_IN = (".nii", ".nii.gz")
_DICOM_IN = (".dcm", ".dicom", ".ima")
_OME_IN = (".ome.tif", ".ome.tiff")
_TIFF_IN = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
ZARR_IN = (".ome.zarr", ".zarr")
# ``bioimg predict`` above LARGE_MPX million pixels: lazy input, outputs in one of these formats
# (the same table as bioimg.scale._predict_large, which the CLI imports only when needed)
LARGE_FORMATS = {"ome-zarr": ".ome.zarr", "tiff": ".tif"}
LARGE_MPX = 16.0


def output_suffix(path: Path) -> str:
    """Suffix of the outputs made from ``path``: ``.nii.gz``, ``.ome.tif`` or ``.tif``."""
    name = path.name.lower()
    if name.endswith(_NIFTI_IN + _DICOM_IN):
        return NIFTI_OUT
    if name.endswith(_OME_IN) or name.endswith(ZARR_IN):  # small results of an OME-Zarr: OME-TIFF
        return OME_OUT
    if name.endswith(_TIFF_IN):
        return OME_OUT if _tiff_is_ome(path) else TIFF_OUT
    if _is_dicom(path):  # DICOM files often have no suffix at all
        return NIFTI_OUT
    return TIFF_OUT


def _is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _tiff_is_ome(path: Path) -> bool:
    """An OME-TIFF saved as plain ``.tif`` (OME-XML in the first page's description)."""
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            return bool(tif.is_ome)
    except Exception:  # unreadable here: the read itself will report it
        return False


def for_format(image, suffix: str):
    """``image`` made writable as ``suffix``: NIfTI has no channel axis, so channels
    (probabilities, multi-channel denoising) become the 4th NIfTI dimension.

    The spatial geometry (affine, spacing) is kept; DICOM-derived affines are
    marked as scanner coordinates.
    """
    if suffix != NIFTI_OUT:
        return image
    meta = dict(image.metadata)
    if meta.get("format") == "dicom":
        meta.setdefault("sform_code", 1)
        meta.setdefault("qform_code", 1)
    meta.pop("time_step", None)  # a channel index is not a time
    data, axes, spacing = image.data, image.axes, tuple(image.spacing)
    if "C" in axes:
        data = np.moveaxis(np.asarray(data), axes.index("C"), 0)
        axes = "T" + axes.replace("C", "")
        if axes == "TYX":  # a 2-D image with channels: one slice of a 4-D volume
            data = data[:, None]
            axes = "TZYX"
            spacing = (_slice_spacing(meta),) + spacing
    return image.with_data(data, axes=axes, spacing=spacing, metadata=meta)


def _slice_spacing(meta: dict) -> float:
    """Third-axis spacing of a 2-D source's affine (slice thickness), so it stays unchanged."""
    try:
        value = float(np.linalg.norm(np.asarray(meta["affine"], dtype=float)[:3, 2]))
    except (KeyError, TypeError, ValueError, IndexError):
        return 1.0
    return value if np.isfinite(value) and value > 0 else 1.0
