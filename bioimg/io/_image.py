"""The :class:`Image` record: an array with its axes and voxel size."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._axes import check_axes, spatial_axes


@dataclass(eq=False, repr=False)
class Image:
    """An image array with axes, physical voxel size and source metadata.

    Parameters
    ----------
    data : numpy.ndarray
        Pixel data; a read-only-on-disk ``numpy.memmap`` (copy-on-write)
        when a large uncompressed TIFF was memory-mapped.
    axes : str
        One letter per dimension from ``TCZYX`` (e.g. ``"ZYX"``, ``"CYX"``,
        ``"TZYX"``); ``reader`` output is in canonical order ``TCZYX``,
        except RGB(A) colour which is kept last (``"YXC"``).
    spacing : tuple of float
        Physical size of each spatial axis (the ``Z``/``Y``/``X`` letters of
        ``axes``) in ``axes`` order; 1.0 when unknown.
    unit : str
        Unit of ``spacing``: ``"pixel"`` (unknown), ``"micrometer"``,
        ``"millimeter"``, ...
    name : str
        Short name, the file stem for images that were read.
    metadata : dict
        JSON-compatible source metadata (``"format"``, NIfTI ``"affine"``
        and ``"orientation"``, DICOM tags of interest, OME fields).

    Examples
    --------
    >>> import numpy as np
    >>> img = Image(np.zeros((4, 8, 8), np.uint16), "ZYX", (2.0, 0.5, 0.5), "micrometer")
    >>> img.spatial_axes, img.ndim_spatial, img.scale
    ('ZYX', 3, (2.0, 0.5, 0.5))
    >>> img.with_data(np.zeros((8, 8)), axes="YX", spacing=(0.5, 0.5)).shape
    (8, 8)
    """

    data: np.ndarray
    axes: str
    spacing: tuple[float, ...]
    unit: str = "pixel"
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Lazy arrays (dask, zarr) keep their laziness: anything with a shape,
        # a dtype and numpy-style indexing is stored as is.
        lazy = all(hasattr(self.data, a) for a in ("shape", "dtype", "ndim", "__getitem__"))
        if not isinstance(self.data, np.ndarray) and not lazy:
            self.data = np.asarray(self.data)
        self.axes = check_axes(self.axes, self.data.ndim)
        n = len(spatial_axes(self.axes))
        try:
            spacing = tuple(float(s) for s in self.spacing)
        except (TypeError, ValueError):
            raise ValueError(f"spacing must be a sequence of numbers, got {self.spacing!r}") from None
        if len(spacing) != n:
            raise ValueError(f"spacing {spacing} needs {n} values, one per spatial axis of {self.axes!r}")
        if not all(np.isfinite(s) and s > 0 for s in spacing):
            raise ValueError(f"spacing {spacing} must be finite and positive")
        self.spacing = spacing
        self.unit = str(self.unit)
        self.metadata = dict(self.metadata)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        """Data type of ``data``."""
        return self.data.dtype

    @property
    def spatial_axes(self) -> str:
        """The spatial letters of ``axes`` (``"ZYX"``, ``"YX"``), in order."""
        return spatial_axes(self.axes)

    @property
    def ndim_spatial(self) -> int:
        """Number of spatial dimensions (2 or 3)."""
        return len(self.spatial_axes)

    @property
    def scale(self) -> tuple[float, ...]:
        """Physical size per axis of ``data`` (1.0 for T and C): a napari layer ``scale``."""
        by_axis = dict(zip(self.spatial_axes, self.spacing))
        return tuple(by_axis.get(a, 1.0) for a in self.axes)

    def with_data(self, data: np.ndarray, **changes) -> "Image":
        """A copy holding ``data`` instead, with other fields optionally changed.

        ``metadata`` is copied, so editing the result's metadata leaves this
        image untouched.
        """
        changes.setdefault("metadata", dict(self.metadata))
        return dataclasses.replace(self, data=data, **changes)

    def __repr__(self) -> str:
        if isinstance(self.data, np.memmap):
            kind = "memmap"
        elif isinstance(self.data, np.ndarray):
            kind = "ndarray"
        else:  # a lazy (dask) array, or another array type
            kind = f"{type(self.data).__module__.split('.')[0]}.{type(self.data).__name__}"
        return (f"Image(name={self.name!r}, shape={self.shape}, dtype={self.dtype}, axes={self.axes!r}, "
                f"spacing={self.spacing}, unit={self.unit!r}, data={kind})")


_KNOWN_SUFFIXES = (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".nii.gz", ".nii", ".dcm", ".dicom")


def image_name(path: str | os.PathLike) -> str:
    """File name without its image extension(s): ``a/cells.ome.tif`` -> ``cells``."""
    name = Path(path).name
    for suffix in _KNOWN_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
