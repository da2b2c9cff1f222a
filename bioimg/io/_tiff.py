"""Read TIFF, multi-page TIFF, ImageJ hyperstacks and OME-TIFF (tifffile)."""
from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np
import tifffile

from ._axes import AXES_LETTERS, from_tifffile_axes, spatial_axes, to_canonical, unsupported_dtype
from ._errors import ImageReadError
from ._image import Image, image_name
from ._limits import check_array_bytes
from ._ome import ome_size_problem, parse_ome
from ._units import clean_float, normalize_unit, sanitize_spacing, to_micrometers

#: Uncompressed, contiguous series at least this large are memory-mapped
#: instead of read into RAM. Small files are read: a mapping holds the file
#: open, which on Windows blocks overwriting it (read -> process -> write).
MEMMAP_MIN_BYTES = 64 * 2**20

# Key the writer adds to ImageJ descriptions: ImageJ drops singleton axes,
# this lets read restore them (ImageJ itself ignores unknown keys).
IMAGEJ_AXES_KEY = "bioimg_axes"

# Largest decoded/stored size ratio per TIFF compression code: none, PackBits, LZW, deflate
# (deflate stops near 1032:1, LZW's 12-bit codes near 4096 bytes each). Other codecs: the cap only.
_MAX_RATIO = {1: 1, 32773: 130, 5: 2800, 8: 1100, 32946: 1100}

# 72 dpi is what image editors write when they know nothing about pixel size.
_PLACEHOLDER_DPI = 72.0


def read_tiff(path: Path, series: int = 0, *, allow_memmap: bool = True, loader=None) -> Image:
    """Read one series of a TIFF file as an :class:`Image` (see ``bioimg.io.read``).

    ``loader(path, series)``, when given, supplies the pixels instead (e.g. a
    lazy dask array); the metadata and checks are the same either way.
    """
    size = path.stat().st_size
    with _tifffile_errors() as errors, tifffile.TiffFile(path) as tif:
        # Walk the whole IFD chain first: tifffile reports a circular chain here, but building
        # series from it can loop forever (a 1 KB fuzzed file ran > 5 min).
        pages = len(tif.pages)
        if errors:
            raise ImageReadError(path, f"corrupt TIFF ({errors[0]})")
        _check_ome_sizes(path, tif, pages)  # before tifffile builds (and allocates) series from the XML
        n = len(tif.series)
        if errors:
            # tifffile recovers from a broken page chain or ImageJ/shaped
            # metadata by returning fewer planes: for us that is a bad file.
            raise ImageReadError(path, f"corrupt or truncated TIFF ({errors[0]})")
        if n == 0:
            raise ImageReadError(path, "TIFF file contains no images")
        if not 0 <= series < n:
            raise ImageReadError(path, f"series {series} does not exist (the file has {n})")
        ser = tif.series[series]
        reason = unsupported_dtype(ser.dtype)
        if reason:
            raise ImageReadError(path, reason)
        try:
            axes = from_tifffile_axes(ser.axes)
        except ValueError as exc:
            raise ImageReadError(path, exc) from None
        _check_complete(path, ser, size)
        spacing, unit, meta = _physical_size(tif, ser, series, axes)
        if loader is not None:
            data = None
        elif allow_memmap and ser.dataoffset is not None and ser.nbytes >= MEMMAP_MIN_BYTES:
            data = tifffile.memmap(path, series=series, mode="c")  # copy-on-write: never edits the file
        else:
            check_array_bytes(path, ser.nbytes)  # compressed pages: tags declare the size, not the file
            data = ser.asarray()
        if errors:
            raise ImageReadError(path, f"corrupt TIFF ({errors[0]})")
        saved_axes = meta.pop("_saved_axes", None)
    if loader is not None:
        data = loader(path, series)
    if data.shape != tuple(ser.shape):
        if data.size != ser.size:
            raise ImageReadError(path, f"corrupt TIFF (pixel data {data.shape} do not fill the series {ser.shape})")
        data = data.reshape(ser.shape)
    data, axes, _ = to_canonical(data, axes)
    data, axes = _restore_singletons(data, axes, saved_axes)
    values = [spacing.get(a, 1.0) for a in spatial_axes(axes)]
    return Image(data, axes, sanitize_spacing(values, len(values)), unit, image_name(path), meta)


class _ErrorLog(logging.Handler):
    """Collect tifffile's structural error messages logged by this thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Errors in one tag's value (e.g. Software) do not affect the pixels.
        if record.thread == self.thread and "TiffTag" not in message:
            self.messages.append(re.sub(r"^<[^>]*>\s*", "", " ".join(message.split())))


@contextlib.contextmanager
def _tifffile_errors():
    handler = _ErrorLog()
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)  # also keeps them off stderr: the error we raise says it
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _check_ome_sizes(path: Path, tif: tifffile.TiffFile, pages: int) -> None:
    """Refuse OME-XML whose sizes the file's pages cannot hold (see ``ome_size_problem``)."""
    if not tif.is_ome:
        return
    problem = ome_size_problem(tif.pages[0].description, pages, tif.pages[0].shape)
    if problem:
        raise ImageReadError(path, problem)


def _check_complete(path: Path, ser, size: int) -> None:
    """Raise when pixel data would lie beyond the end of the file."""
    if ser.dataoffset is not None:
        end = ser.dataoffset + ser.nbytes
    else:
        end = 0
        for page in ser.pages:
            if page is None:
                continue
            for offset, count in zip(page.dataoffsets, page.databytecounts):
                end = max(end, offset + count)
    if end > size:
        raise ImageReadError(path, f"file is truncated (pixel data ends at byte {end}, file has {size} bytes)")
    for i, page in enumerate(ser.pages):
        key = getattr(page, "keyframe", None) or page
        if page is None or key is None:
            continue
        held = sum(int(c) for c in page.databytecounts)
        # decoded bytes the strips/tiles can give: stored as is, or the codec's largest ratio
        ratio = _MAX_RATIO.get(int(getattr(key, "compression", 0)))  # no `or`: COMPRESSION.NONE is falsy
        need = float(key.size) * int(getattr(key, "bitspersample", 8) or 8) / 8
        if ratio is not None and int(getattr(key, "photometric", 0) or 0) != 6 and need > held * ratio:
            raise ImageReadError(path, f"page {i} declares {' x '.join(map(str, key.shape))} "
                                 f"{key.dtype} pixels ({int(need)} bytes) but its strips/tiles hold {held} bytes")


def _physical_size(tif: tifffile.TiffFile, ser, index: int, axes: str):
    """Spacing per axis letter, unit and metadata, from the richest source.

    Order: OME-XML, bioimg's own JSON description (plain TIFF), ImageJ
    description, then the TIFF resolution tags.
    """
    meta: dict = {"format": "tiff", "tiff_axes": ser.axes, "series": index, "n_series": len(tif.series)}
    page = ser.pages[0] if len(ser.pages) else tif.pages.first
    compression = getattr(page, "compression", None)
    meta["compression"] = str(getattr(compression, "name", compression)).lower()
    res = _resolution(page)
    spacing: dict[str, float] = {}
    unit = "pixel"

    ome = parse_ome(tif.ome_metadata, index) if tif.is_ome and tif.ome_metadata else None
    shaped = _shaped(tif, index)
    if ome is not None:
        meta["format"] = "ome-tiff"
        meta["ome"] = ome["ome"]
        spacing, unit = ome["spacing"], ome["unit"]
        with contextlib.suppress(KeyError, ValueError):
            meta["time_step"] = float(ome["ome"]["TimeIncrement"])
            meta["time_unit"] = ome["ome"]["TimeIncrementUnit"]
    elif shaped is not None and "spacing" in shaped:
        values = list(shaped["spacing"]) if isinstance(shaped["spacing"], (list, tuple)) else []
        spacing = dict(zip(spatial_axes(axes), values))
        unit = normalize_unit(shaped.get("unit", "pixel"))
    elif tif.is_imagej:
        ij = tif.imagej_metadata or {}
        meta["format"] = "imagej-tiff"
        meta["imagej"] = {k: v for k, v in ij.items() if isinstance(v, (str, int, float, bool))}
        unit = normalize_unit(ij.get("unit", "pixel"))
        if res is not None:
            spacing.update(X=res[0][1], Y=res[1][1])
        if "spacing" in ij:
            spacing["Z"] = ij["spacing"]
        if _is_number(ij.get("finterval")):
            meta["time_step"], meta["time_unit"] = float(ij["finterval"]), str(ij.get("tunit", "s"))
        saved = ij.get(IMAGEJ_AXES_KEY)
        if isinstance(saved, str):
            meta["_saved_axes"] = saved
    elif res is not None:
        spacing, unit = _resolution_spacing(res)
    spacing = {a: clean_float(v) for a, v in spacing.items() if _is_number(v)}
    return spacing, unit, meta


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _shaped(tif: tifffile.TiffFile, index: int) -> dict | None:
    """bioimg's JSON description of a plain TIFF series, when present."""
    if not tif.is_shaped:
        return None
    try:
        shaped = tif.shaped_metadata or ()
    except (ValueError, json.JSONDecodeError):
        return None
    item = shaped[index] if index < len(shaped) else None
    return item if isinstance(item, dict) else None


def _resolution(page) -> tuple | None:
    """((x_res, x_size), (y_res, y_size), unit_code) from the resolution tags."""
    if page is None:
        return None
    out = []
    for name in ("XResolution", "YResolution"):
        tag = page.tags.get(name)
        try:
            num, den = tag.value
            res = num / den
        except (AttributeError, TypeError, ValueError, ZeroDivisionError):
            return None
        if not res > 0:
            return None
        out.append((res, 1.0 / res))
    unit_tag = page.tags.get("ResolutionUnit")
    try:
        code = int(unit_tag.value) if unit_tag is not None else 2  # TIFF default: inch
    except (TypeError, ValueError):
        code = 1
    return out[0], out[1], code


def _resolution_spacing(res) -> tuple[dict, str]:
    (xres, xsize), (yres, ysize), code = res
    if code == 3:  # centimeter
        return {"X": xsize * 1e4, "Y": ysize * 1e4}, "micrometer"
    if code == 2 and not (xres == yres == _PLACEHOLDER_DPI):  # inch
        return {"X": xsize * to_micrometers("inch"), "Y": ysize * to_micrometers("inch")}, "micrometer"
    if code == 1 and not (xres == yres == 1.0):
        return {"X": xsize, "Y": ysize}, "pixel"
    return {}, "pixel"


def _restore_singletons(data: np.ndarray, axes: str, saved: str | None):
    """Re-insert singleton axes that ImageJ dropped (recorded by our writer)."""
    if not saved or saved == axes or not set(axes) <= set(saved) or not set(saved) <= set(AXES_LETTERS):
        return data, axes
    if len(set(saved)) != len(saved):
        return data, axes
    if "".join(a for a in saved if a in axes) != axes:
        return data, axes
    shape = [data.shape[axes.index(a)] if a in axes else 1 for a in saved]
    return data.reshape(shape), saved
