"""User-facing messages: bad input and failed work become napari notifications, not tracebacks."""
from __future__ import annotations

import logging

log = logging.getLogger("bioimg_napari")

# Errors that mean "bad input or not possible here": shown as one line.
USER_ERRORS = (ValueError, OSError, MemoryError, FloatingPointError, InterruptedError, KeyError)


def error_text(exc: BaseException) -> str:
    """One clear line for an exception (the first line of its message)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MemoryError):
        return f"not enough memory: {msg}" if msg else ("not enough memory: crop the image, use a smaller "
                                                        "model, patch or tile")
    if isinstance(exc, FloatingPointError):
        return msg or "numerical error (NaN/inf): lower the learning rate or check the image for NaNs"
    if isinstance(exc, KeyError):
        return f"missing {msg}"
    if not isinstance(exc, USER_ERRORS):  # a bug: name the exception type, log the traceback
        log.error("unexpected error in bioimg", exc_info=(type(exc), exc, exc.__traceback__))
        return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return msg or type(exc).__name__


def show_error(message: str | BaseException, what: str = "") -> str:
    """Show an error notification (``what``: the action that failed); returns the text shown."""
    from napari.utils.notifications import show_error as _show

    text = error_text(message) if isinstance(message, BaseException) else str(message)
    text = f"{what}: {text}" if what else text
    log.info("error shown: %s", text)
    _show(text)
    return text


def show_warning(message: str) -> None:
    """Show a warning notification (the work ran, but the result needs attention)."""
    from napari.utils.notifications import show_warning as _show

    log.info("warning shown: %s", message)
    _show(message)


def show_info(message: str) -> None:
    """Show an information notification."""
    from napari.utils.notifications import show_info as _show

    _show(message)
