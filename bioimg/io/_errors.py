"""Exceptions raised by :mod:`bioimg.io`.

Both are ``ValueError`` subclasses so the CLI (and any caller that already
handles bad values) reports them as bad input, with a one-line message that
names the file and the reason.
"""
from __future__ import annotations

import os


def _one_line(text: object) -> str:
    # The CLI prints only the first line of a message: keep the reason whole.
    return " ".join(str(text).split())


class _PathError(ValueError):
    verb = "access"

    def __init__(self, path: str | os.PathLike | None, reason: object = None) -> None:
        if reason is None:  # raised with a ready-made message
            self.path, self.reason = None, _one_line(path)
            message = self.reason
        else:
            self.path, self.reason = os.fspath(path), _one_line(reason)
            message = f"cannot {self.verb} '{self.path}': {self.reason}"
        super().__init__(message)


class ImageReadError(_PathError):
    """A file or folder could not be read as an image.

    Parameters
    ----------
    path : str or os.PathLike
        The file or folder that was read (``.path`` attribute).
    reason : str
        Why it failed (``.reason`` attribute).

    Examples
    --------
    >>> str(ImageReadError("a.tif", "file is empty (0 bytes)"))
    "cannot read 'a.tif': file is empty (0 bytes)"
    """

    verb = "read"


class ImageWriteError(_PathError):
    """An image could not be written; no partial output is left behind.

    Examples
    --------
    >>> str(ImageWriteError("a.png", "unsupported extension '.png'"))
    "cannot write 'a.png': unsupported extension '.png'"
    """

    verb = "write"
