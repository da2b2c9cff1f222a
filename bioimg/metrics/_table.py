"""Plain-text tables of metric rows for the command line (no dependency)."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

__all__ = ["format_table"]


def _cell(value, floatfmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return str(v) if math.isnan(v) or math.isinf(v) else format(v, floatfmt)
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None,
                 floatfmt: str = ".4f") -> str:
    """Format rows of metrics as an aligned plain-text table.

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per row; missing keys give empty cells.
    columns : sequence of str, optional
        Columns to show, in order; default every key, in first-seen order.
    floatfmt : str
        Format spec for floats; NaN and infinity print as ``nan``/``inf``.

    Returns
    -------
    str
        Header, a dashed rule and one line per row, no trailing newline;
        numbers are right-aligned, text left-aligned. ``""`` when there are
        neither rows nor columns.

    Examples
    --------
    >>> print(format_table([{"class": 1, "iou": 0.5}, {"class": 2, "iou": float("nan")}]))
    class     iou
    -----  ------
        1  0.5000
        2     nan
    """
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    columns = [str(c) for c in columns]
    if not columns:
        return ""
    cells = [[_cell(row.get(c), floatfmt) for c in columns] for row in rows]
    numeric = [all(_is_number(row.get(c)) for row in rows if row.get(c) is not None)
               for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)
