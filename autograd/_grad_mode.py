"""Grad-mode switches (thread-local, as in PyTorch).

Training runs in a background worker thread in the GUI, so grad mode and
anomaly detection are per thread: a ``no_grad`` block in one thread must not
switch off graph recording in another.
"""
from __future__ import annotations

import functools
import threading

class _State(threading.local):
    # Class-level defaults: a new thread starts with grad enabled, no anomaly
    # mode, and attribute reads never need a getattr fallback (hot path).
    enabled = True
    anomaly = False


_state = _State()


def is_grad_enabled() -> bool:
    """Return True when operations record a graph for backward."""
    return _state.enabled


def _set_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


def is_anomaly_enabled() -> bool:
    """Return True inside ``detect_anomaly``."""
    return _state.anomaly


class _DecoratorContext:
    """Base for context managers that also work as function decorators."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper

    _args: tuple = ()


class no_grad(_DecoratorContext):
    """Disable graph recording: ``with autograd.no_grad(): ...`` or ``@no_grad()``."""

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        if callable(fn):  # bare ``@no_grad`` without parentheses
            self.__init__()
            return self(fn)
        return self

    def __init__(self):
        self._args = ()

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_enabled(False)

    def __exit__(self, *exc):
        _set_enabled(self._prev)
        return False


class enable_grad(_DecoratorContext):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self):
        self._args = ()

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_enabled(True)

    def __exit__(self, *exc):
        _set_enabled(self._prev)
        return False


class set_grad_enabled(_DecoratorContext):
    """Set grad mode on or off; takes effect at once and restores on exit."""

    def __init__(self, mode: bool):
        self._args = (mode,)
        self._prev = is_grad_enabled()
        _set_enabled(mode)

    def __call__(self, fn):
        _set_enabled(self._prev)  # used as a decorator: do not leak the mode
        return super().__call__(fn)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set_enabled(self._prev)
        return False


class inference_mode(no_grad):
    """Alias of ``no_grad`` (no separate inference tensors here)."""

    def __init__(self, mode: bool = True):
        self._args = (mode,)
        self._mode = mode

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_enabled(not self._mode and self._prev)


class detect_anomaly(_DecoratorContext):
    """Raise as soon as a backward function produces NaN, naming the function."""

    def __init__(self, check_nan: bool = True):
        self._args = (check_nan,)
        self._check = check_nan

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        _state.anomaly = self._check

    def __exit__(self, *exc):
        _state.anomaly = self._prev
        return False


def set_detect_anomaly(mode: bool) -> None:
    """Switch anomaly detection on or off for this thread."""
    _state.anomaly = bool(mode)
