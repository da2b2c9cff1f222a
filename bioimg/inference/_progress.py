"""Progress in stages: the model tile by tile, then (instance models) the stitching of labels.

Every ``progress`` callback of :func:`bioimg.inference.predict` and the large-image
paths is called as ``progress(done, total)``. A callback that also accepts a
``stage`` keyword (a parameter named ``stage``, or ``**kwargs``) is told which
stage the counts belong to:

``"tiles"``
    the model applied tile by tile (``total`` = number of tiles);
``"stitching"``
    instance labels made block by block and stitched across block borders
    (two passes over the blocks: ``total`` = 2 x blocks). Only images larger
    than one instance block have this stage.

Each stage counts from 1 up to its own ``total``. Callbacks without ``stage``
see the same calls without the keyword (so their counts restart once).
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

__all__ = ["STAGE_UNITS", "accepts_stage", "staged"]

STAGE_UNITS = {"tiles": "tile", "stitching": "block"}  # stage -> what one step of it is


def accepts_stage(progress: Callable) -> bool:
    """Whether ``progress`` can be called with a ``stage=`` keyword."""
    try:
        params = inspect.signature(progress).parameters.values()
    except (TypeError, ValueError):  # builtins and some C callables have no signature: plain form
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == "stage" and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                                          p.KEYWORD_ONLY))
               for p in params)


def staged(progress: Callable | None, stage: str) -> Callable[[int, int], None] | None:
    """``progress`` as a plain ``(done, total)`` callback that reports ``stage`` when it can.

    Parameters
    ----------
    progress : callable or None
        The caller's callback.
    stage : str
        ``"tiles"`` or ``"stitching"`` (see the module docstring).

    Returns
    -------
    callable or None
        ``None`` when ``progress`` is None; ``progress`` itself when it takes no ``stage``.
    """
    if progress is None or not accepts_stage(progress):
        return progress
    return functools.partial(progress, stage=stage)
