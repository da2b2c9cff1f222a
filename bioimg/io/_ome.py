"""The few OME-XML fields bioimg needs: physical sizes, units, names."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ._units import normalize_unit, to_micrometers

# OME-XML default when a PhysicalSize*Unit attribute is absent
_DEFAULT_UNIT = "µm"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_ome(xml: str, index: int) -> dict | None:
    """Fields of the ``index``-th OME ``Image`` (None when absent/unparsable).

    Returns a dict with ``spacing`` ({"X": .., "Y": .., "Z": ..} for the
    axes that have a PhysicalSize, converted to one common unit), ``unit``
    (canonical name) and ``ome`` (JSON-compatible fields for metadata).
    """
    try:
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError, TypeError):
        return None  # broken XML: fall back to the plain TIFF tags
    images = [el for el in root if _local(el.tag) == "Image"]
    if not 0 <= index < len(images):
        return None
    image = images[index]
    pixels = next((el for el in image if _local(el.tag) == "Pixels"), None)
    if pixels is None:
        return None
    attrs = pixels.attrib
    sizes, units = {}, {}
    for axis in "XYZ":
        try:
            value = float(attrs[f"PhysicalSize{axis}"])
        except (KeyError, ValueError):
            continue
        sizes[axis] = value
        units[axis] = normalize_unit(attrs.get(f"PhysicalSize{axis}Unit", _DEFAULT_UNIT))
    # All spatial axes share one unit in an Image: use X's (or the first)
    # and convert the others when they differ (e.g. Z in nm, X in µm).
    unit = units.get("X") or next(iter(units.values()), "pixel")
    spacing = {}
    for axis, value in sizes.items():
        if units[axis] != unit:
            src, dst = to_micrometers(units[axis]), to_micrometers(unit)
            if src is None or dst is None:
                continue
            value = value * src / dst
        spacing[axis] = value
    ome = {key: attrs[key] for key in ("DimensionOrder", "Type", "SizeX", "SizeY", "SizeZ", "SizeC", "SizeT")
           if key in attrs}
    if "Name" in image.attrib:
        ome["Name"] = image.attrib["Name"]
    for key in ("PhysicalSizeX", "PhysicalSizeY", "PhysicalSizeZ", "TimeIncrement"):
        if key in attrs:
            ome[key] = attrs[key]
            ome[key + "Unit"] = attrs.get(key + "Unit", _DEFAULT_UNIT if key != "TimeIncrement" else "s")
    names = [el.attrib.get("Name", "") for el in pixels if _local(el.tag) == "Channel"]
    if any(names):
        ome["channel_names"] = names
    return {"spacing": spacing, "unit": unit, "ome": ome}


def ome_size_problem(xml: str, pages: int, page_shape: tuple) -> str | None:
    """Why the OME-XML's declared sizes cannot describe this file (None when they can).

    Checked before tifffile builds a series from the XML: a 29 KB file whose
    XML says ``SizeX="4294967296"`` or ``SizeZ="2000000"`` would otherwise
    allocate gigabytes, or come back as millions of zero planes that are not
    in the file. Images whose planes live in other files (multi-file OME) are
    not checked here.

    Parameters
    ----------
    xml : str
        The OME-XML of the first page.
    pages : int
        Pages (IFDs) in this file.
    page_shape : tuple
        Shape of the first page.
    """
    try:
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError, TypeError):
        return None  # not OME-XML we can read: tifffile treats it as a plain TIFF
    if any(_local(el.tag) == "UUID" and el.attrib.get("FileName") for el in root.iter()):
        return None  # planes spread over several files
    planes = 0
    for pixels in (el for el in root.iter() if _local(el.tag) == "Pixels"):
        try:
            size = {k: int(pixels.attrib.get(f"Size{k}", "1")) for k in "XYZCT"}
        except ValueError:
            return "OME-XML sizes are not integers"
        if min(size.values()) < 1:
            return f"OME-XML declares a size < 1 ({size})"
        samples = max([int(el.attrib.get("SamplesPerPixel", "1") or 1)
                       for el in pixels if _local(el.tag) == "Channel"] or [1])
        # a plane is (Y, X), (Y, X, samples) or (samples, Y, X)
        pairs = {tuple(page_shape[i:i + 2]) for i in range(len(page_shape) - 1)}
        if (size["Y"], size["X"]) not in pairs:
            return (f"OME-XML declares {size['Y']} x {size['X']} pixel planes but the file's planes are "
                    f"{' x '.join(map(str, page_shape))}")
        planes += size["Z"] * size["C"] * size["T"] // samples
        if planes > pages:
            return f"OME-XML declares {planes} or more planes but the file holds {pages} pages"
    return None
