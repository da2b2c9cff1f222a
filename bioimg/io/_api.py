"""``read`` and ``write``: format dispatch, validation and error wrapping."""
from __future__ import annotations

import numbers
import os
import stat
from pathlib import Path

import numpy as np

from ._atomic import atomic_output, full_suffix
from ._dtypes import prepare_for_write
from ._errors import ImageReadError, ImageWriteError
from ._folder import DICOM_SUFFIXES, TIFF_SUFFIXES, read_folder
from ._image import Image
from ._zarr import ZARR_SUFFIXES, read_zarr, write_zarr

_TIFF_FAMILY = TIFF_SUFFIXES + (".btf", ".tf8", ".tf2", ".lsm", ".stk")
_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_OME_SUFFIXES = (".ome.tif", ".ome.tiff")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_READABLE = ".tif .tiff .ome.tif .nii .nii.gz .dcm .zarr .ome.zarr, or a folder of TIFF/DICOM files"


def read(path: str | os.PathLike, *, series: int = 0, lazy: bool = False) -> Image:
    """Read an image file or folder with its axes and voxel size.

    Parameters
    ----------
    path : str or os.PathLike
        A TIFF / multi-page TIFF / ImageJ hyperstack / OME-TIFF, a NIfTI
        ``.nii``/``.nii.gz``, a DICOM file (single- or multi-frame), an
        OME-Zarr / zarr store (``.ome.zarr``/``.zarr``: read lazily as a dask
        array), or a folder holding 2-D TIFF slices (a Z stack in natural
        name order) or a DICOM series.
    series : int, optional
        Which series of a multi-series TIFF, or of a folder holding several
        DICOM series (ordered by SeriesNumber).
    lazy : bool, optional
        Return ``data`` as a dask array without reading the pixels (TIFF and
        OME-TIFF through tifffile's zarr store, NIfTI plane by plane, a
        ``.nii.gz`` after one verified inflate into a temporary file; see
        ``bioimg.scale.read_lazy``).

    Returns
    -------
    Image
        Axes in canonical ``TCZYX`` order (RGB kept as ``...YXC``). Large
        uncompressed TIFFs come back memory-mapped (copy-on-write).
        NIfTI and DICOM volumes are ``ZYX`` (``TZYX`` for 4-D NIfTI).

    Raises
    ------
    ImageReadError
        For any file that cannot be read, naming the file and the reason:
        not a regular file (FIFO, device), sizes declared in a header or
        OME-XML that the file does not hold, or an eager read larger than
        ``min(16 GiB, physical memory)`` (see ``bioimg.io._limits``).

    Examples
    --------
    >>> img = read("sample_data/nuclei3d_image.tif")  # doctest: +SKIP
    >>> img.axes, img.spacing, img.unit  # doctest: +SKIP
    ('ZYX', (0.29, 0.26, 0.26), 'micrometer')
    """
    if lazy:
        from bioimg.scale import read_lazy  # dask stays an import of the lazy path only

        return read_lazy(path, series=series)
    return _read_guarded(Path(os.fspath(path)), series)


def _read_guarded(path: Path, series: int, lazy_nifti: bool = False) -> Image:
    """``_read`` with every failure as one ImageReadError (``lazy_nifti``: NIfTI voxels as dask, for read_lazy)."""
    try:
        return _native_byte_order(_read(path, series, lazy_nifti))
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(path, "not enough memory (is the header corrupt?)") from exc
    except Exception as exc:  # tifffile/nibabel/pydicom/struct/zlib: all mean "bad file" to the caller
        raise ImageReadError(path, f"{type(exc).__name__}: {exc}") from exc


def _read(path: Path, series: int, lazy_nifti: bool = False) -> Image:
    if not isinstance(series, numbers.Integral) or series < 0:
        raise ImageReadError(path, f"series must be a non-negative integer, got {series!r}")
    if not path.exists():
        raise ImageReadError(path, "no such file or directory")
    if path.name.lower().endswith(ZARR_SUFFIXES):
        if int(series) != 0:
            raise ImageReadError(path, f"series {series} does not exist (the store holds one image)")
        return read_zarr(path)
    if path.is_dir():
        return read_folder(path, int(series))
    st = path.stat()  # follows symlinks: a link to /dev/zero is a device, a FIFO would block
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(path, f"not a regular file (it is {_file_kind(st.st_mode)}); "
                             "images are read from regular files only")
    size = st.st_size
    if size == 0:
        raise ImageReadError(path, "file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(352)
    name = path.name.lower()
    if name.endswith(_TIFF_FAMILY):
        if head[:4] not in _TIFF_MAGIC:
            raise ImageReadError(path, f"not a TIFF file (wrong magic bytes {head[:4]!r})")
        from ._tiff import read_tiff

        return read_tiff(path, int(series))
    if int(series) != 0:
        raise ImageReadError(path, f"series {series} does not exist (the file holds one image)")
    if name.endswith(_NIFTI_SUFFIXES):
        _check_nifti_magic(path, name, head)
        from ._nifti import read_nifti

        return read_nifti(path, lazy=lazy_nifti)
    if name.endswith(DICOM_SUFFIXES) or head[128:132] == b"DICM":
        from ._dicom import read_dicom_file

        return read_dicom_file(path)
    raise ImageReadError(path, f"unsupported file type '{path.suffix or name}' (readable: {_READABLE})")


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a file"


def _native_byte_order(image: Image) -> Image:
    """Big-endian files (DICOM, NIfTI) give native arrays; memmaps stay as stored."""
    data = image.data
    if not data.dtype.isnative and not isinstance(data, np.memmap) \
            and not isinstance(getattr(data, "base", None), np.memmap):  # dask/zarr: no .base
        image.data = data.astype(data.dtype.newbyteorder("="))
    return image


def _check_nifti_magic(path: Path, name: str, head: bytes) -> None:
    if name.endswith(".gz"):
        if head[:2] != b"\x1f\x8b":
            raise ImageReadError(path, "not a gzip-compressed NIfTI file (wrong magic bytes)")
        return
    sizes = {int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")}
    if len(head) < 348 or not sizes & {348, 540}:
        raise ImageReadError(path, "not a NIfTI file (wrong header size/magic bytes)")


def write(path: str | os.PathLike, image: Image | np.ndarray, *, axes: str | None = None,
          spacing=None, unit: str | None = None, compression: str | None = None) -> Path:
    """Write an image atomically; the format follows the extension.

    Parameters
    ----------
    path : str or os.PathLike
        ``.tif``/``.tiff`` (ImageJ hyperstack when ImageJ can open the dtype,
        else plain TIFF; both keep axes, spacing and unit), ``.ome.tif``/
        ``.ome.tiff`` (OME PhysicalSize*), ``.ome.zarr``/``.zarr`` (OME-NGFF
        v0.5, chunked; numpy or dask data), ``.nii``/``.nii.gz`` (axes
        ``YX``, ``ZYX`` or ``TZYX``; zooms, units and affine kept).
    image : Image or numpy.ndarray
        What to write. A bare array needs ``axes`` unless it is 2-D (``YX``)
        or 3-D (``ZYX``).
    axes, spacing, unit : optional
        Override the image's fields (``spacing`` may be one number for all
        spatial axes).
    compression : str, optional
        TIFF compression understood by tifffile (``"zlib"``, ``"zstd"``,
        ``"lzw"``...); compressed TIFFs cannot be memory-mapped on read.
        Ignored for NIfTI, which is compressed when the name ends in ``.gz``.

    Returns
    -------
    pathlib.Path
        The written file. It appears complete or not at all: the data go to
        a temporary file in the same folder, renamed over ``path`` at the end.

    Notes
    -----
    Integer labels keep their dtype; 64-bit integers shrink to the smallest
    type holding all values (unsigned without negatives). ``bool`` is
    written as ``uint8``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "labels.tif"
    >>> write(out, np.zeros((2, 8, 8), np.int64), spacing=(2.0, 0.5, 0.5), unit="micrometer").name
    'labels.tif'
    >>> read(out).dtype, read(out).spacing
    (dtype('uint8'), (2.0, 0.5, 0.5))
    """
    path = Path(os.fspath(path))
    name = path.name.lower()
    if name.endswith(_OME_SUFFIXES):
        kind = "ome"
    elif name.endswith(TIFF_SUFFIXES):
        kind = "tiff"
    elif name.endswith(_NIFTI_SUFFIXES):
        kind = "nifti"
    elif name.endswith(ZARR_SUFFIXES):
        kind = "zarr"
    else:
        raise ImageWriteError(path, f"unsupported extension '{path.suffix}' (writable: .tif .tiff .ome.tif "
                              ".ome.tiff .nii .nii.gz .zarr .ome.zarr)")
    try:
        img = _as_image(image, axes, spacing, unit)
        img = img.with_data(prepare_for_write(img.data))
    except ValueError as exc:
        raise ImageWriteError(path, exc) from exc
    suffix = full_suffix(path, _OME_SUFFIXES + TIFF_SUFFIXES + _NIFTI_SUFFIXES)
    try:
        if kind == "zarr":  # a directory: its own temporary-sibling-then-rename
            write_zarr(path, img)
            return path
        with atomic_output(path, suffix) as tmp:
            if kind == "nifti":
                from ._nifti import write_nifti

                write_nifti(tmp, img)
            else:
                from ._tiff_write import write_tiff

                write_tiff(tmp, img, compression=compression, ome=kind == "ome")
    except ImageWriteError:
        raise
    except ValueError as exc:  # unsupported layout/unit/compression: the message says it all
        raise ImageWriteError(path, exc) from exc
    except Exception as exc:
        raise ImageWriteError(path, f"{type(exc).__name__}: {exc}") from exc
    return path


def _as_image(image, axes, spacing, unit) -> Image:
    if isinstance(image, Image):
        changes = {k: v for k, v in (("axes", axes), ("unit", unit)) if v is not None}
        if spacing is not None:
            n = len([a for a in (axes or image.axes).upper() if a in "ZYX"])
            changes["spacing"] = _spacing(spacing, n)
        return image.with_data(image.data, **changes) if changes else image
    lazy = all(hasattr(image, a) for a in ("shape", "dtype", "ndim", "__getitem__"))
    data = image if lazy and not isinstance(image, np.ndarray) else np.asanyarray(image)  # dask stays lazy
    if axes is None:
        if data.ndim not in (2, 3):
            raise ValueError(f"a {data.ndim}-D array needs axes=..., e.g. 'CZYX' or 'TZYX'")
        axes = "YX" if data.ndim == 2 else "ZYX"
    n = len([a for a in str(axes).upper() if a in "ZYX"])
    return Image(data, axes, _spacing(spacing, n) if spacing is not None else (1.0,) * n, unit or "pixel")


def _spacing(spacing, n: int) -> tuple:
    if isinstance(spacing, numbers.Real):
        return (float(spacing),) * n
    return tuple(spacing)
