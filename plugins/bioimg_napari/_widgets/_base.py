"""The skeleton every bioimg widget shares: a form, a Run/Cancel button, a progress bar, a status line.

Subclasses build their form (magicgui widgets), implement :meth:`run`
(check the inputs on the main thread, then :meth:`start` a worker) and
optionally :meth:`on_cancel`. Errors from the checks or the worker become
napari notifications; existing layers are only touched once a result is
ready.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from magicgui.widgets import ComboBox, Container
from qtpy.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .._notify import show_error, show_info
from .._workers import ProgressRelay, start_worker


class InputError(ValueError):
    """A bad choice in the form (no layer, wrong shape...): shown as a notification."""


class BioimgWidget(QWidget):
    """Base of the dockable widgets.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer (injected by napari when the widget is opened from the
        Plugins menu).
    """

    action = "bioimg"
    run_text = "Run"

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self.last_error: str | None = None
        self._cancel = threading.Event()
        self.form = Container(labels=True)
        self.button = QPushButton(self.run_text)
        self.button.clicked.connect(self._on_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.relay = ProgressRelay(self)
        self.relay.changed.connect(self.set_progress)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form.native)
        layout.addWidget(self.button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.extra = layout  # subclasses append result widgets here
        events = napari_viewer.layers.events
        for name in ("inserted", "removed", "reordered", "renamed"):
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self.reset_choices)

    # -- form helpers ---------------------------------------------------------
    def layer_combo(self, kind: type, label: str, *, nullable: bool = False, name: str = "") -> ComboBox:
        """A drop-down listing the viewer's layers of type ``kind`` (kept in sync with the layer list)."""
        def choices(_widget=None) -> list[tuple[str, Any]]:
            return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, kind)]

        combo = ComboBox(choices=choices, label=label, nullable=nullable, name=name or label.replace(" ", "_"))
        return combo

    def reset_choices(self, *_: Any) -> None:
        """Refresh every drop-down (layers were added, removed, renamed or moved)."""
        self.form.reset_choices()

    @staticmethod
    def require(combo: ComboBox, what: str):
        """The value of ``combo``, or an :class:`InputError` asking for ``what``."""
        value = combo.value
        if value is None:
            raise InputError(f"choose {what} (open an image or a sample: File > Open Sample > bioimg)")
        return value

    # -- running --------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a worker is running."""
        return self.worker is not None

    @property
    def cancelled(self) -> bool:
        """Whether the user pressed Cancel during the current run."""
        return self._cancel.is_set()

    def _on_button(self) -> None:
        if self.busy:
            self.cancel()
        else:
            self.run_safely()

    def run_safely(self) -> None:
        """Call :meth:`run`, turning bad input into a notification."""
        self.last_error = None
        try:
            self.run()
        except Exception as exc:  # bad input (or a bug): a notification, never a traceback dialog
            self.fail(exc)

    def run(self) -> None:  # pragma: no cover - abstract
        """Check the inputs and :meth:`start` the work (subclasses)."""
        raise NotImplementedError

    def start(self, function: Callable, *args: Any, returned: Callable | None = None,
              yielded: Callable | None = None, **kwargs: Any) -> None:
        """Run ``function`` in a worker; the button turns into Cancel until it ends."""
        self._cancel.clear()
        self.button.setText("Cancel")
        self.progress.setRange(0, 0)  # busy indicator until the first progress report
        self.status.setText(f"{self.action}: running...")
        self.worker = start_worker(function, *args, yielded=yielded, returned=self._guard(returned),
                                   errored=self.fail, finished=self._finished, **kwargs)

    def _guard(self, slot: Callable | None) -> Callable | None:
        """Show a result; a failure while showing it becomes a notification too."""
        if slot is None:
            return None

        def wrapped(value: Any) -> None:
            try:
                slot(value)
            except Exception as exc:
                self.fail(exc)
        return wrapped

    def cancel(self) -> None:
        """Ask the running work to stop (what is kept depends on the widget)."""
        self._cancel.set()
        self.status.setText(f"{self.action}: cancelling...")
        self.on_cancel()

    def on_cancel(self) -> None:
        """Hook for subclasses (e.g. cancel a training token)."""

    def is_cancelled(self) -> bool:
        """Callback form of :attr:`cancelled` for ``bioimg`` functions (thread-safe)."""
        return self._cancel.is_set()

    def set_progress(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` on the progress bar."""
        self.progress.setRange(0, max(1, int(total)))
        self.progress.setValue(int(done))

    def fail(self, exc: BaseException) -> None:
        """Show why the action failed (a cancelled run is only reported, not an error)."""
        if isinstance(exc, InterruptedError):
            self.status.setText(f"{self.action}: cancelled")
            show_info(f"{self.action}: cancelled")
            return
        self.last_error = show_error(exc, self.action)
        self.status.setText(self.last_error)

    def done(self, message: str) -> None:
        """Report success in the status line."""
        self.status.setText(message)

    def _finished(self) -> None:
        self.worker = None
        self.button.setText(self.run_text)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.progress.setValue(self.progress.maximum())
