"""The skeleton every bioimg widget shares: a form, a Run/Cancel button, a progress bar, a status line.

Subclasses build their form (magicgui widgets), implement :meth:`run`
(check the inputs on the main thread, then :meth:`start` a worker) and
optionally :meth:`on_cancel`. Errors from the checks or the worker become
napari notifications; existing layers are only touched once a result is
ready. Every widget gets ``self.session``, the state it shares with the
other bioimg widgets of the same viewer.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from magicgui.widgets import ComboBox, Container
from qtpy.QtCore import QEvent, QTimer
from qtpy.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .._notify import show_error, show_info, show_warning
from .._session import session_for
from .._workers import ProgressRelay, start_worker

# After the button changes role (Run <-> Cancel) it ignores clicks this long, so the second click
# of a double click cannot cancel the run it just started, or restart the run it just stopped.
ROLE_GUARD_MS = 500
OPEN_HINT = "open a file or a sample (File > Open Sample > bioimg)"
# napari titles plugin docks "Train (bioimg)"; five such tabs do not fit a dock and get elided
# ("Train..."), so the dock shows the widget's own name ("Train") as its tab text.
DOCK_SUFFIX = " (bioimg)"


class InputError(ValueError):
    """A bad choice in the form (no layer, wrong shape...): shown as a notification."""


def parse_sizes(text: str, ndim: int, what: str, example: str) -> tuple | None:
    """A size field: ``""``/``"auto"``/``"0"`` -> None, ``"64"`` -> (64,) * ndim, ``"16,64,64"`` as is.

    ``what`` names the field and ``example`` shows valid values in the error
    (an :class:`InputError`).
    """
    text = (text or "").strip().lower()
    if text in ("", "auto", "0"):
        return None
    try:
        sizes = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"{what} must be 'auto' or integers like {example}, not {text!r}") from None
    sizes = sizes * ndim if len(sizes) == 1 else sizes
    if len(sizes) != ndim or min(sizes) < 1:
        raise InputError(f"{what} {text!r}: a {ndim}D image needs 1 or {ndim} positive values")
    return sizes


class BioimgWidget(QWidget):
    """Base of the dockable widgets.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer (napari passes a ``PublicOnlyProxy`` of it when the widget
        is opened from the Plugins menu or ``add_plugin_dock_widget``).
    """

    action = "bioimg"
    run_text = "Run"

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)  # shared by every widget of the real viewer
        self.worker = None
        self.last_error: str | None = None
        self._cancel = threading.Event()
        self.form = Container(labels=True)
        self.button = QPushButton(self.run_text)
        self.button.clicked.connect(self._on_button)
        self.button.setToolTip("Start; while it runs, the same button cancels it")
        self._role_guard = QTimer(self)
        self._role_guard.setSingleShot(True)
        self._role_guard.timeout.connect(self._release_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.relay = ProgressRelay(self)
        self.relay.changed.connect(self.set_progress)
        self.relay.stage_changed.connect(self.set_stage)
        self._build_layout()
        events = napari_viewer.layers.events
        for name in ("inserted", "removed", "reordered", "renamed"):
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self.reset_choices)

    def _build_layout(self) -> None:
        """Form, button, progress and status in a scroll area, so the dock fits small screens."""
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.form.native)
        layout.addWidget(self.button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.extra = layout  # subclasses append result widgets here
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(content)
        body_layout.addStretch(1)  # keep the form at the top when the dock is tall
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        # Expanding: napari adds no stretch below, the scroll area takes the dock's height.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def minimumSizeHint(self):  # noqa: N802 - Qt API
        """As wide as the form needs, but only a few rows high: the rest scrolls."""
        hint = self.scroll.widget().minimumSizeHint()
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        hint.setWidth(hint.width() + bar)
        hint.setHeight(min(hint.height(), 200))
        return hint

    def event(self, event) -> bool:  # noqa: D102 - Qt API
        if event.type() == QEvent.Type.ParentChange:  # put into napari's dock: shorten its tab text
            self._shorten_dock_title()
        return super().event(event)

    def _shorten_dock_title(self) -> None:
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None and dock.windowTitle().endswith(DOCK_SUFFIX):
            dock.setWindowTitle(dock.windowTitle()[: -len(DOCK_SUFFIX)])

    # -- form helpers ---------------------------------------------------------
    def layer_combo(self, kind: type, label: str, *, nullable: bool = False, name: str = "",
                    tooltip: str = "") -> ComboBox:
        """A drop-down listing the viewer's layers of type ``kind`` (kept in sync with the layer list)."""
        def choices(_widget=None) -> list[tuple[str, Any]]:
            return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, kind)]

        combo = ComboBox(choices=choices, label=label, nullable=nullable, name=name or label.replace(" ", "_"),
                         tooltip=tooltip or None)
        return combo

    def reset_choices(self, *_: Any) -> None:
        """Refresh every drop-down (layers were added, removed, renamed or moved)."""
        self.form.reset_choices()

    @staticmethod
    def require(combo: ComboBox, what: str, hint: str = OPEN_HINT):
        """The value of ``combo``, or an :class:`InputError` asking for ``what`` (``hint``: how to get one)."""
        value = combo.value
        if value is None:
            available = [c for c in combo.choices if c is not None]
            raise InputError(f"choose {what}" if available else f"choose {what}: there is none yet; {hint}")
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
        if self._role_guard.isActive():  # a second click right after Run/Cancel swapped: not meant
            return
        if self.busy:
            self.cancel()
        else:
            self.run_safely()

    def _set_role(self, text: str) -> None:
        """Show ``text`` on the button and ignore clicks for a moment (see ``ROLE_GUARD_MS``)."""
        self.button.setText(text)
        self.button.setEnabled(False)
        self._role_guard.start(ROLE_GUARD_MS)

    def _release_button(self) -> None:
        if not (self.busy and self.cancelled):  # while cancelling, the button stays off until the end
            self.button.setEnabled(True)

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
        self._set_role("Cancel")
        self.progress.setRange(0, 0)  # busy indicator until the first progress report
        self.progress.setFormat("%p%")
        self.relay.reset()
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
        self.button.setText("Cancelling...")
        self.button.setEnabled(False)
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

    def set_stage(self, stage: str) -> None:
        """Name the stage the progress bar counts ("tiles", "stitching"...) on the bar and the status line."""
        self.progress.setFormat(f"{stage} %v/%m" if stage else "%p%")
        if stage and not self.cancelled:
            self.status.setText(f"{self.action}: {stage}...")

    def fail(self, exc: BaseException) -> None:
        """Show why the action failed (a cancelled run is only reported, not an error)."""
        if isinstance(exc, InterruptedError):
            self.status.setText(f"{self.action}: cancelled")
            show_info(f"{self.action}: cancelled")
            return
        self.last_error = show_error(exc, self.action)
        self.status.setText(self.last_error)

    def warn(self, message: str) -> None:
        """A result that needs attention: a warning notification and the status line."""
        text = f"{self.action}: {message}"
        show_warning(text)
        self.status.setText(text)

    def done(self, message: str) -> None:
        """Report success in the status line."""
        self.status.setText(message)

    def _finished(self) -> None:
        self.worker = None
        self._set_role(self.run_text)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.progress.setValue(self.progress.maximum())
