"""Atomic file output: readers never see a half-written image."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from ._errors import ImageWriteError


def full_suffix(path: Path, known: tuple[str, ...]) -> str:
    """The longest of ``known`` suffixes that ``path`` ends with ('' if none)."""
    name = path.name.lower()
    for suffix in sorted(known, key=len, reverse=True):
        if name.endswith(suffix):
            return path.name[len(path.name) - len(suffix):]
    return path.suffix


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` on success.

    The temporary name ends with ``suffix`` because writers choose the format
    (gzip, OME) from the file name. It lives in the same directory so the
    final ``os.replace`` is an atomic rename on the same file system. On any
    error the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_output(target, ".txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    if path.is_dir():
        raise ImageWriteError(path, "is a directory")
    if not path.parent.is_dir():
        raise ImageWriteError(path, f"directory '{path.parent}' does not exist")
    # Not mkstemp: it creates the file with mode 0600, and the output should
    # get the same permissions as any other file the user writes (umask).
    tmp = path.parent / f".{path.name[:-len(suffix)] if suffix else path.name}.tmp-{secrets.token_hex(6)}{suffix}"
    try:
        yield tmp
        # Flush to disk before the rename, so a crash cannot leave an empty
        # file under the final name.
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
