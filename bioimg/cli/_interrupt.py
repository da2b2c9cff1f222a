"""Ctrl-C and SIGTERM during training: stop cleanly and never touch the user's model file.

``bioimg train --out m.bioimg`` keeps the best model in memory and writes
``m.bioimg`` once, atomically, when the run ends (finished or time budget
reached). A first Ctrl-C / SIGTERM asks the training loop to stop after the
current step; the best model so far then goes to ``m.interrupted.bioimg``
and ``m.bioimg`` keeps its old bytes. A second signal quits at once without
writing anything (KeyboardInterrupt, exit code 130).
"""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from . import CLIError

_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)


def interrupted_path(out: Path) -> Path:
    """Where an interrupted run puts its best model: ``m.bioimg`` -> ``m.interrupted.bioimg``."""
    name = out.name
    if name.lower().endswith(".bioimg"):
        return out.with_name(name[: -len(".bioimg")] + ".interrupted.bioimg")
    return out.with_name(name + ".interrupted.bioimg")


def check_output(out: Path) -> None:
    """Fail before training, not after it, when ``out`` cannot be written."""
    if out.is_dir():
        raise CLIError(f"--out {out} is a directory; give a file name such as {out / 'model.bioimg'}")
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"--out {out}: cannot write into {folder}")


class StopOnSignal:
    """Within the ``with`` block, SIGINT/SIGTERM cancel ``token`` instead of killing the run.

    ``signum`` is the first signal received (None if none). A second signal
    raises KeyboardInterrupt: the user insists, so quit without saving.
    Outside the main thread (no signal handlers there) it does nothing.
    """

    def __init__(self, token) -> None:
        self.token = token
        self.signum: int | None = None
        self._old: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        self.token.cancel()
        # os.write, not print: the handler may run while tqdm is inside a write to
        # stderr, and a buffered stream refuses reentrant writes.
        os.write(2, b"\nbioimg train: stopping after the current step and keeping the best model "
                    b"so far (press Ctrl-C again to quit without saving)\n")

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for s in _SIGNALS:
                if signal.getsignal(s) is signal.SIG_IGN:  # nohup / background job: keep ignoring
                    continue
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)
        self._old.clear()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""
