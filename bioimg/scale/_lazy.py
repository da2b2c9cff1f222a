"""Open an image lazily: a :class:`~bioimg.io.Image` whose data is a dask array."""
from __future__ import annotations

import os
import weakref
from pathlib import Path

import dask.array as da
import tifffile

from ..io._api import _TIFF_FAMILY, _TIFF_MAGIC, _read_guarded
from ..io._errors import ImageReadError
from ..io._image import Image
from ..io._tiff import read_tiff

__all__ = ["read_lazy"]


def read_lazy(path: str | os.PathLike, *, series: int = 0) -> Image:
    """Open an image without reading its pixels: ``data`` is a dask array.

    Parameters
    ----------
    path : str or os.PathLike
        Any file or folder :func:`bioimg.io.read` accepts.
    series : int, optional
        Which series of a multi-series TIFF (or DICOM folder).

    Returns
    -------
    Image
        Same ``axes``, ``spacing``, ``unit``, ``name`` and ``metadata`` as
        :func:`bioimg.io.read`; ``data`` is a :class:`dask.array.Array`.
        TIFF / OME-TIFF pixels are read on demand, chunk by chunk (one chunk
        per page, strip or tile group, as tifffile's zarr store exposes
        them; pyramidal files give their full-resolution level). NIfTI
        (``.nii``, ``.nii.gz``) voxels are read on demand in chunks of whole
        planes along the slowest stored axis (a ``.nii.gz`` is first
        inflated, verified, into an anonymous temporary file; see
        ``bioimg.io._nifti_lazy``). Other formats (DICOM, folders) are read
        by :func:`bioimg.io.read` and wrapped with ``dask.array.from_array``.

    Notes
    -----
    :class:`~bioimg.io.Image` converts non-numpy data with ``np.asarray``
    in its constructor (and so in ``Image.with_data``): keep working on
    ``image.data`` (``image.data.map_blocks(...)``, ``.compute()``) rather
    than building new Images from the dask array.

    Examples
    --------
    >>> img = read_lazy("sample_data/nuclei3d_image.tif")  # doctest: +SKIP
    >>> img.data  # doctest: +SKIP
    dask.array<..., shape=(60, 256, 256), dtype=uint16, chunksize=(1, 256, 256), ...>
    """
    path = Path(os.fspath(path))
    if path.is_file() and path.name.lower().endswith(_TIFF_FAMILY):
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic in _TIFF_MAGIC:
            try:
                return _read_tiff_lazy(path, int(series))
            except ImageReadError:
                raise
            except Exception as exc:  # tifffile/zarr: a bad file to the caller
                raise ImageReadError(path, f"{type(exc).__name__}: {exc}") from exc
    # NIfTI: voxels read on demand by bioimg.io._nifti_lazy (same checks and values as read())
    image = _read_guarded(path, series, lazy_nifti=True)
    data = image.data if isinstance(image.data, da.Array) else da.from_array(image.data, chunks="auto")
    return image.with_data(data)


def _read_tiff_lazy(path: Path, series: int) -> Image:
    """The TIFF branch of :func:`read_lazy`: ``bioimg.io``'s metadata and checks, pixels lazy."""
    return read_tiff(path, series, loader=_native_zarr_dask)


def _native_zarr_dask(path: Path, series: int) -> da.Array:
    data = _zarr_dask(path, series)
    if data.dtype.byteorder not in "=|":  # as bioimg.io.read: native byte order
        data = data.astype(data.dtype.newbyteorder("="))
    return data


def _zarr_dask(path: Path, series: int) -> da.Array:
    """Full-resolution pixels of ``series`` as a dask array over tifffile's zarr store."""
    import zarr

    store = tifffile.imread(path, aszarr=True, series=series)
    # The store reopens the file on the first chunk read and caches the handle;
    # close it when the store (held by every array derived from this one) goes.
    cache = getattr(store, "_filecache", None)
    if cache is not None and hasattr(cache, "clear"):
        weakref.finalize(store, cache.clear)
    node = zarr.open(store, mode="r")
    if not hasattr(node, "shape"):  # pyramid: a group of levels, "0" the largest
        node = node["0"]
    return da.from_zarr(node)
