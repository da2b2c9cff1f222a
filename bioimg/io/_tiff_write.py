"""Write TIFF (ImageJ hyperstack or plain) and OME-TIFF with voxel size."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import tifffile

from ._axes import is_rgb, spatial_axes, to_canonical
from ._image import Image
from ._tiff import IMAGEJ_AXES_KEY
from ._units import normalize_unit, to_micrometers, unit_symbol

# What ImageJ can open, per tifffile: grey uint8/uint16/int16/float32, RGB uint8.
_IMAGEJ_DTYPES = {np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.float32)}
_IMAGEJ_ORDER = "TZCYXS"
# ImageJ's own spelling of the units it knows
_IMAGEJ_UNITS = {"micrometer": "micron", "nanometer": "nm", "millimeter": "mm",
                 "centimeter": "cm", "meter": "m", "inch": "inch"}


def write_tiff(tmp: Path, image: Image, *, compression=None, ome: bool = False) -> None:
    """Write ``image`` to ``tmp`` as OME-TIFF, ImageJ TIFF or plain TIFF.

    ImageJ layout is used whenever ImageJ/Fiji can open the result (dtype
    uint8/uint16/int16/float32, RGB only as uint8), so the file opens with
    its calibration there too; other dtypes get a plain TIFF whose JSON
    description carries axes, spacing and unit. Both also set the standard
    resolution tags.
    """
    data, axes, spacing = to_canonical(image.data, image.axes, image.spacing)
    rgb = is_rgb(axes, data.shape)
    tif_axes = axes[:-1] + "S" if rgb else axes
    size = dict(zip(spatial_axes(axes), spacing))
    unit = normalize_unit(image.unit)
    common = dict(photometric="rgb" if rgb else "minisblack", compression=compression)
    if ome:
        _write_ome(tmp, data, tif_axes, size, unit, image.metadata, common)
    elif data.dtype in _IMAGEJ_DTYPES and (not rgb or data.dtype == np.uint8) and data.ndim <= 6:
        _write_imagej(tmp, data, tif_axes, axes, size, unit, image.metadata, common)
    else:
        _write_plain(tmp, data, tif_axes, spacing, size, unit, common)


def _write_ome(tmp, data, tif_axes, size, unit, source_meta, common) -> None:
    symbol = unit_symbol(unit)
    if symbol is None:
        raise ValueError(f"OME-TIFF cannot store the unit {unit!r}")
    metadata: dict = {"axes": tif_axes}
    for axis, value in size.items():
        metadata[f"PhysicalSize{axis}"] = value
        metadata[f"PhysicalSize{axis}Unit"] = symbol
    if "T" in tif_axes and isinstance(source_meta.get("time_step"), (int, float)):
        metadata["TimeIncrement"] = float(source_meta["time_step"])
        metadata["TimeIncrementUnit"] = "s"
    tifffile.imwrite(tmp, data, ome=True, metadata=metadata, **common)


def _write_imagej(tmp, data, tif_axes, axes, size, unit, source_meta, common) -> None:
    order = [tif_axes.index(a) for a in _IMAGEJ_ORDER if a in tif_axes]
    ij_axes = "".join(tif_axes[i] for i in order)
    metadata: dict = {"axes": ij_axes, IMAGEJ_AXES_KEY: axes}
    if unit != "pixel":
        metadata["unit"] = _IMAGEJ_UNITS.get(unit, unit)
    if "Z" in size:
        metadata["spacing"] = size["Z"]
    if "T" in axes and isinstance(source_meta.get("time_step"), (int, float)):
        metadata["finterval"] = float(source_meta["time_step"])
    tifffile.imwrite(tmp, np.transpose(data, order), imagej=True, ome=False, metadata=metadata,
                     resolution=(1.0 / size["X"], 1.0 / size["Y"]), **common)


def _write_plain(tmp, data, tif_axes, spacing, size, unit, common) -> None:
    metadata = {"axes": tif_axes, "spacing": list(spacing), "unit": unit}
    um = to_micrometers(unit)
    if um is not None:  # resolution tags in pixels per centimeter, for other software
        resolution, resunit = (1e4 / (size["X"] * um), 1e4 / (size["Y"] * um)), "CENTIMETER"
    else:
        resolution, resunit = (1.0 / size["X"], 1.0 / size["Y"]), "NONE"
    tifffile.imwrite(tmp, data, ome=False, shaped=True, metadata=metadata,
                     resolution=resolution, resolutionunit=resunit, **common)


def write_tiff_tiled(tmp: Path, data, axes: str, spacing: tuple, unit: str = "pixel",
                     tile: tuple = (256, 256)) -> None:
    """Write a large array-like (numpy, zarr) as a tiled BigTIFF, one band of tiles in memory.

    ``axes`` ends in ``YX``; leading axes (``C``, ``Z``) become pages. The
    JSON description carries axes, spacing and unit as :func:`_write_plain` does,
    so ``bioimg.io.read`` gives them back; zlib-compressed tiles.
    """
    shape = tuple(int(n) for n in data.shape)
    ty, tx = tile
    lead = shape[:-2]

    def tiles():
        for idx in itertools.product(*[range(n) for n in lead]):
            for y in range(0, shape[-2], ty):
                band = np.asarray(data[idx + (slice(y, y + ty), slice(None))])
                for x in range(0, shape[-1], tx):
                    t = band[:, x:x + tx]
                    if t.shape != (ty, tx):
                        t = np.pad(t, [(0, ty - t.shape[0]), (0, tx - t.shape[1])])
                    yield t

    size = dict(zip(spatial_axes(axes), spacing))
    um = to_micrometers(unit)
    if um is not None:
        resolution, resunit = (1e4 / (size["X"] * um), 1e4 / (size["Y"] * um)), "CENTIMETER"
    else:
        resolution, resunit = (1.0 / size["X"], 1.0 / size["Y"]), "NONE"
    metadata = {"axes": axes, "spacing": list(spacing), "unit": unit}
    tifffile.imwrite(tmp, tiles(), shape=shape, dtype=data.dtype, tile=(ty, tx), bigtiff=True,
                     photometric="minisblack", compression="zlib", ome=False, shaped=True,
                     metadata=metadata, resolution=resolution, resolutionunit=resunit)
