"""Read and write NIfTI-1/2 (``.nii``, ``.nii.gz``) with nibabel.

Axes convention: nibabel indexes voxels as ``(x, y, z[, t])`` (i fastest on
disk). bioimg reverses that to ``ZYX`` / ``TZYX`` (``YX`` for 2-D), Z first
as for microscopy; because NIfTI data are stored x-fastest, the reversed
array is C-contiguous and needs no copy. ``write`` reverses again, so data,
spacing and affine survive a round trip exactly.

Metadata keys: ``affine`` (4x4 list, maps nibabel voxel indices (i, j, k)
= (x, y, z), i.e. the *reversed* spatial axes, to RAS+ world coordinates),
``orientation`` (``nib.aff2axcodes`` of the affine as a string, in the same
(x, y, z) order, e.g. ``"RAS"``), ``sform_code``/``qform_code``,
``time_step``/``time_unit`` for 4-D data, ``nifti_units`` (header units),
``nifti_zooms`` (the spacing, in (x, y, z) order, that ``affine`` goes with:
``write`` rescales the affine's columns when the spacing has changed).
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path

import nibabel as nib
import numpy as np

from ._axes import spatial_axes, unsupported_dtype
from ._errors import ImageReadError
from ._image import Image, image_name
from ._limits import check_array_bytes
from ._units import clean_float, normalize_unit, sanitize_spacing, to_micrometers

_AXES = {2: "YX", 3: "ZYX", 4: "TZYX"}
# Deflate cannot shrink data more than ~1032:1: a header promising more
# voxels than that is corrupt, caught before nibabel allocates the buffer.
_MAX_GZIP_RATIO = 1100
# bytes read past the voxels to reach the gzip trailer (NIfTI has none there)
_TRAILING_LIMIT = 1 << 20
# inflate step: bounds the memory a lying header can make us reserve ahead of the data
_CHUNK = 16 << 20
# NIfTI spatial unit names in nibabel, and what to convert other units to
_NIFTI_UNITS = {"meter": "meter", "millimeter": "mm", "micrometer": "micron"}
_CONVERT_TO = {"nanometer": "micrometer", "centimeter": "millimeter", "inch": "millimeter"}


def read_nifti(path: Path, *, lazy: bool = False) -> Image:
    """Read a NIfTI file as an :class:`Image` (see ``bioimg.io.read``).

    ``lazy=True`` gives the same Image with a dask array as ``data``
    (``bioimg.io._nifti_lazy``): equal values, dtype, axes and metadata,
    pixels read on demand; the size checks against the file hold as for an
    eager read, only the per-array memory cap does not apply.
    """
    try:
        img = nib.load(path, mmap=False)
    except nib.filebasedimages.ImageFileError as exc:
        raise ImageReadError(path, f"not a valid NIfTI file ({exc})") from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ImageReadError(path, f"not a NIfTI image ({type(img).__name__})")
    shape = tuple(int(s) for s in img.shape)
    if len(shape) not in _AXES:
        raise ImageReadError(path, f"unsupported dimensionality: {len(shape)}-D NIfTI (supported: 2-D to 4-D)")
    if any(n <= 0 for n in shape):
        raise ImageReadError(path, f"header has invalid dimensions {shape}")
    raw_dtype = img.header.get_data_dtype()
    reason = unsupported_dtype(raw_dtype)
    if reason:
        raise ImageReadError(path, reason)
    _check_size(path, img, shape, raw_dtype, cap=not lazy)
    if lazy:
        from ._nifti_lazy import lazy_voxels

        data = lazy_voxels(path, img, shape, raw_dtype)
    else:
        data = _eager_voxels(path, img, shape, raw_dtype)
    return _image(path, img, data, shape)


def scaling(proxy) -> tuple[float, float] | None:
    """``(slope, inter)`` when the file asks for scaling (finite and not identity), else None."""
    slope, inter = float(proxy.slope), float(proxy.inter)
    if (slope, inter) != (1.0, 0.0) and math.isfinite(slope) and math.isfinite(inter):
        return slope, inter
    return None


def apply_scaling(raw: np.ndarray, scale: tuple[float, float] | None) -> np.ndarray:
    """Voxel values ``raw * slope + inter``: float32 unless the file already stores float64."""
    if scale is None:
        return raw
    # never widen silently; the lazy reader applies this same formula chunk by chunk (equal values)
    ftype = np.float64 if raw.dtype == np.float64 else np.float32
    return raw.astype(ftype) * ftype(scale[0]) + ftype(scale[1])


def _eager_voxels(path: Path, img, shape: tuple, raw_dtype) -> np.ndarray:
    if path.name.lower().endswith(".gz"):
        img = _verified_gzip(path, img, shape, raw_dtype)
    proxy = img.dataobj
    raw = np.asanyarray(proxy.get_unscaled())  # forces the read: errors surface here
    if raw.shape != shape:
        raise ImageReadError(path, f"file is truncated or corrupt (read {raw.shape}, header says {shape})")
    return apply_scaling(raw, scaling(proxy)).T  # (x, y, z, t) -> (t, z, y, x): C-contiguous view


def _image(path: Path, img, data, shape: tuple) -> Image:
    """The Image around ``data`` (already in bioimg axis order): spacing, unit and metadata from the header."""
    hdr = img.header
    axes = _AXES[len(shape)]
    zooms = [float(z) for z in hdr.get_zooms()]
    n = len(spatial_axes(axes))
    spacing = sanitize_spacing([clean_float(z, 7) for z in zooms[:n]][::-1], n)
    try:
        space_unit, time_unit = hdr.get_xyzt_units()
    except KeyError:  # unknown unit code: as good as no unit
        space_unit, time_unit = "unknown", "unknown"
    # 'unknown' (most files, including nibabel's own) is read as millimeter,
    # the convention of ITK, FSL and SPM.
    unit = "millimeter" if space_unit == "unknown" else normalize_unit(space_unit)
    affine = img.affine
    meta: dict = {"format": "nifti", "nifti_units": space_unit,
                  "sform_code": int(hdr["sform_code"]), "qform_code": int(hdr["qform_code"])}
    if affine is not None and np.all(np.isfinite(affine)):
        meta["affine"] = np.asarray(affine, dtype=float).tolist()
        meta["orientation"] = "".join(str(c) for c in nib.aff2axcodes(affine))
    meta["nifti_zooms"] = list(spacing[::-1])  # spacing the affine belongs to, (x, y, z) order
    if len(shape) == 4 and len(zooms) > 3:
        meta["time_step"] = clean_float(zooms[3], 7)
        meta["time_unit"] = time_unit
    return Image(data, axes, spacing, unit, image_name(path), meta)


def _check_size(path: Path, img, shape, dtype, cap: bool = True) -> None:
    """The header's voxel bytes against what the file holds (and, for eager reads, the memory cap)."""
    nbytes = int(np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize)
    size = path.stat().st_size
    if path.name.lower().endswith(".gz"):
        if nbytes > size * _MAX_GZIP_RATIO:
            raise ImageReadError(path, f"header promises {nbytes} bytes of voxels, too many for a {size}-byte file")
        if cap:
            check_array_bytes(path, nbytes, f"header dimensions {tuple(shape)} ({np.dtype(dtype)})")
        return
    offset = int(img.dataobj.offset)
    if offset + nbytes > size:
        raise ImageReadError(path, f"file is truncated (voxel data needs {offset + nbytes} bytes, file has {size})")
    if cap:
        check_array_bytes(path, nbytes, f"header dimensions {tuple(shape)} ({np.dtype(dtype)})")


def _verified_gzip(path: Path, img, shape, dtype):
    """Decompress once, to the end, so gzip checks its CRC and length.

    nibabel stops after the last voxel and never reaches the gzip trailer, so
    a file cut short in its last bytes, or with flipped bits that still
    inflate, would load silently.
    """
    blob = bytearray()
    inflate_verified(path, voxel_end(img, shape, dtype), blob.extend)
    klass = nib.Nifti2Image if isinstance(img, nib.Nifti2Image) else nib.Nifti1Image
    return klass.from_bytes(bytes(blob))


def voxel_end(img, shape, dtype) -> int:
    """Offset of the byte after the last voxel in the (uncompressed) file."""
    return int(img.dataobj.offset) + int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def inflate_verified(path: Path, expected: int, sink) -> None:
    """Inflate the first ``expected`` bytes of a .gz file into ``sink(bytes)``, then verify its trailer.

    In chunks: memory grows only as far as the stream really inflates, so a
    header promising more voxels than the file holds fails before the full
    buffer is allocated (read(expected) would reserve it up front). The eager
    and the lazy reader (which sinks into a temporary file) share this, so a
    hostile file fails the same way through both.
    """
    done = 0
    with gzip.open(path, "rb") as fh:
        while done < expected:
            chunk = fh.read(min(_CHUNK, expected - done))
            if not chunk:
                raise ImageReadError(path, f"file is truncated (voxel data needs {expected} bytes, "
                                     f"it inflates to {done})")
            sink(chunk)
            done += len(chunk)
        fh.read(_TRAILING_LIMIT)  # reaching EOF verifies the CRC; bounded against gzip bombs


def write_nifti(tmp: Path, image: Image) -> None:
    """Write ``image`` (axes ``YX``, ``ZYX`` or ``TZYX``) as NIfTI-1 to ``tmp``.

    The affine in ``image.metadata["affine"]`` is kept (its column lengths
    rescaled when the spacing changed, e.g. after resampling); without one
    the affine is ``diag(spacing reversed)``. Units: micrometer, millimeter
    and meter are stored as such, other lengths are converted (nanometer to
    micrometer, centimeter to millimeter); ``pixel`` is stored as unknown.
    """
    if image.axes not in _AXES.values():
        raise ValueError(f"NIfTI output supports axes YX, ZYX or TZYX, not {image.axes!r}")
    data = image.data
    if data.dtype == np.float16:  # NIfTI has no float16
        data = data.astype(np.float32)
    spacing, unit = list(image.spacing), normalize_unit(image.unit)
    if unit in _CONVERT_TO:
        factor = to_micrometers(unit) / to_micrometers(_CONVERT_TO[unit])
        spacing, unit = [s * factor for s in spacing], _CONVERT_TO[unit]
    zooms = spacing[::-1]  # (x, y[, z])
    arr = np.asanyarray(data).T  # back to nibabel (x, y, z, t) order
    meta = image.metadata
    affine = _affine(meta.get("affine"), meta.get("nifti_zooms"), zooms)
    img = nib.Nifti1Image(arr, affine, dtype=arr.dtype)
    if "affine" in meta:
        img.set_sform(affine, code=int(meta.get("sform_code", 2) or 2))
        img.set_qform(affine, code=int(meta.get("qform_code", 0) or 0))
    hdr = img.header
    all_zooms = list(zooms)
    if image.axes == "TZYX":
        step = meta.get("time_step")
        all_zooms.append(float(step) if isinstance(step, (int, float)) and step > 0 else 1.0)
    hdr.set_zooms(all_zooms)  # last: set_qform rewrites pixdim from the affine
    hdr.set_xyzt_units(_NIFTI_UNITS.get(unit, "unknown"), "sec")
    img.to_filename(tmp)


def _affine(source, source_zooms, zooms: list[float]) -> np.ndarray:
    """4x4 affine for ``zooms`` (x, y[, z]), keeping a source affine's geometry.

    The source affine is returned unchanged when the spacing is the one it
    was read with (``source_zooms``, else its column lengths); otherwise its
    columns are rescaled by new/old spacing (resampled data).
    """
    default = np.diag([*zooms, *[1.0] * (3 - len(zooms)), 1.0])
    try:
        affine = np.array(source, dtype=float)
    except (TypeError, ValueError):
        return default
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        return default
    for i, zoom in enumerate(zooms):
        try:
            old = float(source_zooms[i])
        except (TypeError, IndexError, ValueError):
            old = float(np.linalg.norm(affine[:3, i]))
        if old > 0 and not math.isclose(old, zoom, rel_tol=1e-6):
            affine[:3, i] *= zoom / old
    return affine
