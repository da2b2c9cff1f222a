"""Read DICOM: one file (single- or multi-frame); shared geometry helpers.

Axes: a single frame is ``YX`` (``YXC`` for colour); a multi-frame file or a
folder series is ``ZYX``, slices sorted along the slice normal (from
``ImagePositionPatient`` and ``ImageOrientationPatient``), or ``TYX`` for a
cine clip (frames without positions that carry a frame time). ``spacing`` is
(slice step, ``PixelSpacing`` row, column) in millimeter. The modality
rescale (``RescaleSlope``/``RescaleIntercept``, and RT dose grid scaling) is
applied: integer output when slope and intercept are integers and the result
fits, float32 otherwise.

Metadata keys: ``format`` ("dicom"), ``modality``, ``series_description``,
``series_number``, ``photometric_interpretation``, ``rescale_slope``,
``rescale_intercept``, ``rescale_type``, ``image_orientation_patient``,
``image_position_patient`` (first slice), ``slice_positions`` (mm along the
normal, sorted), ``uniform_spacing``, ``n_files``, and, as for NIfTI,
``affine`` (voxel (x, y, z) -> RAS+ mm, i.e. the spatial axes reversed) and
``orientation`` (e.g. ``"LPS"``), so a DICOM series written to ``.nii``
keeps its place in the scanner. Patient identifiers are never copied.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from ._dtypes import smallest_int_dtype
from ._errors import ImageReadError
from ._limits import check_array_bytes
from ._image import Image, image_name

_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_dicom_file(path: Path) -> bool:
    """True when ``path`` starts with the DICOM preamble (``DICM`` at 128)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def dcmread(path: Path, **kwargs) -> pydicom.Dataset:
    """``pydicom.dcmread`` with failures as :class:`ImageReadError`."""
    try:
        return pydicom.dcmread(path, **kwargs)
    except InvalidDicomError as exc:
        raise ImageReadError(path, f"not a DICOM file ({exc})") from exc
    except Exception as exc:  # pydicom raises many types on corrupt input
        raise ImageReadError(path, f"corrupt DICOM file ({type(exc).__name__}: {exc})") from exc


def has_pixels(ds: pydicom.Dataset) -> bool:
    return any(tag in ds for tag in _PIXEL_TAGS)


def pixels(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    """Decoded pixel array, failures as :class:`ImageReadError`."""
    check_pixel_size(ds, path)
    try:
        return ds.pixel_array
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", syntax)
        raise ImageReadError(path, f"cannot decode pixel data (transfer syntax {name}: {exc})") from exc


def check_pixel_size(ds: pydicom.Dataset, path: Path) -> None:
    """Compare Rows x Columns x frames x samples x bits with the pixel data present.

    Done before decoding, so a header declaring more pixels than the file
    holds fails with a one-line :class:`ImageReadError` (never an allocation
    sized by the header), and what passes is within the per-array cap.
    """
    def count(tag: str, default: int | None) -> int:
        try:
            value = int(ds.get(tag, default) if ds.get(tag) not in (None, "") else default)
        except (TypeError, ValueError):
            raise ImageReadError(path, f"DICOM {tag} is not an integer ({ds.get(tag)!r})") from None
        if value < 1:
            raise ImageReadError(path, f"DICOM {tag} must be at least 1, got {value}")
        return value

    rows, cols = count("Rows", None), count("Columns", None)
    frames, samples = count("NumberOfFrames", 1), count("SamplesPerPixel", 1)
    tag = next(t for t in _PIXEL_TAGS if t in ds)
    bits = {"FloatPixelData": 32, "DoubleFloatPixelData": 64}.get(tag) or count("BitsAllocated", 16)
    pixels_n = float(rows) * cols * frames * samples
    declared = pixels_n * bits / 8
    if samples == 3 and str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
        declared = declared * 2 / 3  # native 4:2:2 stores two chroma samples per two pixels
    what = f"Rows x Columns x NumberOfFrames = {rows} x {cols} x {frames} ({bits}-bit)"
    check_array_bytes(path, pixels_n * max(bits, 8) / 8, what)  # decoded: at least one byte per sample
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None and getattr(syntax, "is_compressed", False):
        return  # encapsulated: the decoder checks each frame's size
    held = len(ds[tag].value or b"")
    # native pixels: odd lengths are padded to even, 1-bit data is packed
    if held + 1 < int(np.ceil(declared)):
        raise ImageReadError(path, f"{what} declare {int(np.ceil(declared))} bytes of pixel data, "
                             f"the file holds {held}")


def floats(value, n: int) -> np.ndarray | None:
    """``n`` floats from a DICOM multi-value, None when absent or malformed."""
    try:
        out = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return out if out.shape == (n,) and np.all(np.isfinite(out)) else None


def rescale_of(ds, fallback=None) -> tuple[float, float]:
    """(slope, intercept) of a dataset or functional-group item."""
    slope, inter = 1.0, 0.0
    for source in (fallback, ds):
        if source is None:
            continue
        try:
            slope = float(source.get("RescaleSlope", slope))
            inter = float(source.get("RescaleIntercept", inter))
        except (TypeError, ValueError):
            pass
    try:  # RT dose: stored integers times DoseGridScaling give Gy
        slope *= float(ds.get("DoseGridScaling", 1.0))
    except (TypeError, ValueError):
        pass
    return slope, inter


def apply_rescale(raw: np.ndarray, slopes, inters) -> np.ndarray:
    """Apply per-slice slope/intercept to a stack (first axis = slices)."""
    slopes, inters = np.asarray(slopes, float), np.asarray(inters, float)
    if np.all(slopes == 1) and np.all(inters == 0):
        return raw
    if raw.dtype.kind in "iu" and np.all(slopes == np.round(slopes)) and np.all(inters == np.round(inters)):
        ends = []
        for i in range(raw.shape[0]):
            if raw[i].size:
                lo, hi = int(raw[i].min()), int(raw[i].max())
                ends += [lo * slopes[i] + inters[i], hi * slopes[i] + inters[i]]
        lo, hi = int(min(ends, default=0)), int(max(ends, default=0))
        info = np.iinfo(raw.dtype)  # keep the stored type when it holds the result
        target = raw.dtype if info.min <= lo and hi <= info.max else smallest_int_dtype(lo, hi, raw.dtype.itemsize)
        if target is not None:
            out = np.empty(raw.shape, target)
            for i in range(raw.shape[0]):
                out[i] = raw[i].astype(np.int64) * int(slopes[i]) + int(inters[i])
            return out
    out = np.empty(raw.shape, np.float32)
    for i in range(raw.shape[0]):
        out[i] = raw[i].astype(np.float32) * np.float32(slopes[i]) + np.float32(inters[i])
    return out


def order_slices(path: Path, positions, iop, numbers) -> tuple[np.ndarray, np.ndarray | None]:
    """Slice order and positions along the normal (None without positions).

    Sorted by ``ImagePositionPatient`` projected on the slice normal, else by
    ``InstanceNumber``; an ambiguous order is an :class:`ImageReadError`.
    """
    n = len(positions)
    have = [p is not None for p in positions]
    if all(have) and iop is not None:
        normal = np.cross(iop[:3], iop[3:])
        proj = np.array([float(np.dot(p, normal)) for p in positions])
        order = np.argsort(proj, kind="stable")
        if n > 1 and np.any(np.diff(proj[order]) < 1e-4):
            raise ImageReadError(path, "several slices share one position (mixed acquisitions or echoes?)")
        return order, proj[order]
    if any(have) and not all(have):
        raise ImageReadError(path, f"inconsistent series: {n - sum(have)} of {n} slices lack ImagePositionPatient")
    if n == 1:
        return np.zeros(1, int), None
    if any(num is None for num in numbers) or len(set(numbers)) != n:
        raise ImageReadError(path, "cannot order slices: no ImagePositionPatient and missing/duplicate InstanceNumber")
    return np.argsort(np.asarray(numbers), kind="stable"), None


def slice_step(path: Path, proj: np.ndarray | None, fallback: float) -> tuple[float, dict]:
    """Slice spacing from sorted positions (mean step), with metadata."""
    if proj is None or len(proj) < 2:
        return fallback, {}
    steps = np.diff(proj)
    step = float(steps.mean())
    uniform = bool(np.max(np.abs(steps - step)) <= 0.01 * step + 1e-3)
    if not uniform:
        warnings.warn(f"{path}: slice spacing is not uniform ({steps.min():.4g} to {steps.max():.4g} mm); "
                      f"using the mean {step:.4g} mm", UserWarning, stacklevel=4)
    return round(step, 6), {"slice_positions": [round(float(p), 6) for p in proj], "uniform_spacing": uniform}


def geometry_meta(iop, first, last, n: int, spacing_zyx) -> dict:
    """``affine``/``orientation`` (NIfTI convention) and patient geometry."""
    if iop is None or first is None:
        return {}
    import nibabel as nib  # only for aff2axcodes

    dz, dy, dx = spacing_zyx
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    step = (last - first) / (n - 1) if n > 1 and last is not None else normal * dz
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * dx, col * dy, step, first
    ras = _LPS_TO_RAS @ lps
    return {"image_orientation_patient": [float(v) for v in iop],
            "image_position_patient": [float(v) for v in first],
            "affine": ras.tolist(), "orientation": "".join(nib.aff2axcodes(ras))}


def describe(ds) -> dict:
    """Non-identifying tags of interest."""
    meta = {"format": "dicom"}
    for key, tag in (("modality", "Modality"), ("series_description", "SeriesDescription"),
                     ("series_number", "SeriesNumber"), ("photometric_interpretation", "PhotometricInterpretation"),
                     ("rescale_type", "RescaleType"), ("body_part", "BodyPartExamined")):
        value = ds.get(tag)
        if value not in (None, ""):
            # plain JSON types: pydicom's IS/DS subclasses repr as strings
            kind = int if isinstance(value, int) else float if isinstance(value, float) else str
            meta[key] = kind(value)
    return meta


def read_dicom_file(path: Path) -> Image:
    """Read one DICOM file (single- or multi-frame) as an :class:`Image`.

    Files without the Part 10 preamble (old ACR-NEMA style) are accepted
    when they parse into an image; anything else lacking ``DICM`` is not DICOM.
    """
    if is_dicom_file(path):
        ds = dcmread(path)
    else:
        ds = _forced(path)
        if ds is None:
            raise ImageReadError(path, "not a DICOM file (no 'DICM' marker at byte 128)")
    if not has_pixels(ds):
        raise ImageReadError(path, f"DICOM file has no pixel data (modality {ds.get('Modality', 'unknown')})")
    arr = pixels(ds, path)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    color = int(ds.get("SamplesPerPixel", 1) or 1) > 1
    if frames > 1:
        from ._dicom_frames import multiframe_image

        return multiframe_image(path, ds, arr, color)
    ps = floats(ds.get("PixelSpacing"), 2)
    spacing = (float(ps[0]), float(ps[1])) if ps is not None else (1.0, 1.0)
    meta = describe(ds)
    slope, inter = rescale_of(ds)
    if not color:
        arr = apply_rescale(arr[None], [slope], [inter])[0]
        meta.update(rescale_slope=slope, rescale_intercept=inter)
    iop = floats(ds.get("ImageOrientationPatient"), 6)
    ipp = floats(ds.get("ImagePositionPatient"), 3)
    thickness = positive(ds.get("SliceThickness"), 1.0)
    meta.update(geometry_meta(iop, ipp, None, 1, (thickness, *spacing)))
    meta["n_files"] = 1
    return Image(arr, "YXC" if color else "YX", spacing, "millimeter" if ps is not None else "pixel",
                 image_name(path), meta)


def _forced(path: Path) -> pydicom.Dataset | None:
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception:
        return None
    return ds if has_pixels(ds) and "Rows" in ds else None


def positive(value, default: float | None) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if np.isfinite(value) and value > 0 else default
