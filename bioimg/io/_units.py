"""Physical length units: one canonical name per unit, aliases from formats.

Canonical names are what :class:`bioimg.io.Image` carries in ``unit``:
``"pixel"`` (unknown), ``"nanometer"``, ``"micrometer"``, ``"millimeter"``,
``"centimeter"``, ``"meter"``. An unrecognised unit string is kept as given,
so no information is lost.
"""
from __future__ import annotations

import math

# size of one unit in micrometers
_MICROMETERS = {
    "nanometer": 1e-3,
    "micrometer": 1.0,
    "millimeter": 1e3,
    "centimeter": 1e4,
    "meter": 1e6,
    "inch": 25400.0,
}

_ALIASES = {
    "": "pixel", "pixel": "pixel", "pixels": "pixel", "px": "pixel", "unknown": "pixel",
    "nm": "nanometer", "nanometer": "nanometer", "nanometers": "nanometer", "nanometre": "nanometer",
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "\\u00b5m": "micrometer",
    "micron": "micrometer", "microns": "micrometer", "micrometer": "micrometer",
    "micrometers": "micrometer", "micrometre": "micrometer",
    "mm": "millimeter", "millimeter": "millimeter", "millimeters": "millimeter", "millimetre": "millimeter",
    "cm": "centimeter", "centimeter": "centimeter", "centimeters": "centimeter", "centimetre": "centimeter",
    "m": "meter", "meter": "meter", "meters": "meter", "metre": "meter",
    "in": "inch", "inch": "inch", "inches": "inch",
}

# symbols that OME-XML (UnitsLength) and ImageJ understand
_SYMBOLS = {"pixel": "pixel", "nanometer": "nm", "micrometer": "µm", "millimeter": "mm",
            "centimeter": "cm", "meter": "m", "inch": "in"}


def normalize_unit(unit: object) -> str:
    """Canonical unit name for a unit string from any format ('um' -> 'micrometer')."""
    text = str(unit if unit is not None else "").strip()
    return _ALIASES.get(text.lower(), text)


def unit_symbol(unit: str) -> str | None:
    """Short symbol (OME ``UnitsLength``), or None for an unknown unit."""
    return _SYMBOLS.get(normalize_unit(unit))


def to_micrometers(unit: str) -> float | None:
    """Size of one ``unit`` in micrometers, None when it is not a length."""
    return _MICROMETERS.get(normalize_unit(unit))


def clean_float(value: float, digits: int = 9) -> float:
    """Round a spacing read from a lossy encoding (float32, rationals).

    ``0.2599999904`` (float32) or ``13/50`` comes back as ``0.26``, so a
    round trip through a file compares equal and prints cleanly.
    """
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def sanitize_spacing(values, n: int) -> tuple[float, ...]:
    """``n`` finite positive spacings; anything else becomes 1.0 (unknown)."""
    out = []
    for i in range(n):
        try:
            v = float(values[i])
        except (IndexError, TypeError, ValueError):
            v = 1.0
        out.append(v if math.isfinite(v) and v > 0 else 1.0)
    return tuple(out)
