"""A live plot of training and validation loss and the validation metric, in napari's theme colours.

Matplotlib takes 50-80 ms to draw this small figure, several times that
while training competes for the CPU and the GIL: drawn on the Qt main
thread it froze napari for up to ~0.3 s. So the figure (plain Agg, no Qt
canvas) is drawn in one shared background thread and the main thread only
shows the finished picture. Redraws are coalesced: at most one in flight,
step events at most every ``min_interval`` seconds.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from qtpy.QtCore import QObject, QRectF, QTimer, Signal
from qtpy.QtGui import QColor, QImage, QPainter, QPixmap
from qtpy.QtWidgets import QSizePolicy, QWidget

_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bioimg-plot")
DPI = 90


def theme_colors(theme: str = "dark") -> dict:
    """Figure colours from napari's theme ``theme`` (hex strings): background, axes, text, grid."""
    try:
        from napari.utils.theme import get_theme

        t = get_theme(theme)
        hexes = {k: getattr(t, k).as_hex() for k in ("background", "foreground", "text", "secondary")}
    except Exception:  # unknown theme name: napari's dark defaults
        hexes = {"background": "#23242b", "foreground": "#2e333e", "text": "#f0f1f2", "secondary": "#565f6c"}
    return {"figure": hexes["background"], "axes": hexes["foreground"], "text": hexes["text"],
            "grid": hexes["secondary"]}


class _Relay(QObject):
    """Brings a finished picture from the render thread to the main thread (queued signal)."""

    done = Signal(object)


class LossPlot(QWidget):
    """Training loss per step, train/validation loss per epoch (left axis), metric in 0..1 (right axis).

    Parameters
    ----------
    min_interval : float
        Seconds between redraws for step events (epoch events redraw at once).
    theme : str
        napari theme id ("dark", "light", ...); see :meth:`set_theme`.
    """

    def __init__(self, min_interval: float = 1.0, theme: str = "dark") -> None:
        super().__init__()
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.min_interval = min_interval
        self.figure = Figure(figsize=(3.6, 2.6), dpi=DPI, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot(111)
        self.ax2 = self.ax.twinx()
        self._lock = threading.Lock()  # the figure is drawn in the render thread
        self._relay = _Relay()
        self._relay.done.connect(self._show)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._render_async)
        self._pixmap: QPixmap | None = None
        self._in_flight = self._pending = False
        self._last_request = 0.0
        self.renders = 0  # pictures shown (tests, benchmarks)
        self._build_artists()
        self.colors = theme_colors(theme)
        self._apply_theme()
        self.clear()

    # -- data -------------------------------------------------------------------
    def clear(self) -> None:
        """Forget all points (a new run starts)."""
        self.steps: list[tuple[int, float]] = []
        self.epochs: list[tuple[int, float | None, float | None, float | None]] = []
        self.metric_name = ""
        self.best_step: int | None = None
        self.schedule(0)

    def add(self, event) -> None:
        """Add a ``bioimg.training.Progress`` event (cheap: the drawing happens later, elsewhere)."""
        if event.kind == "step":
            self.steps.append((event.step, event.loss))
            wait = self.min_interval - (time.monotonic() - self._last_request)
            self.schedule(max(0.0, wait))
            return
        if event.kind == "epoch":
            self.epochs.append((event.step, event.loss, event.val_loss, event.val_metric))
            self.metric_name = event.metric_name or ""
            if event.best_epoch:
                self.best_step = self.epochs[event.best_epoch - 1][0]
        self.schedule(0)

    def set_theme(self, theme: str) -> None:
        """Follow napari's theme ``theme`` (connect to ``viewer.events.theme``)."""
        self.colors = theme_colors(theme)
        with self._lock:
            self._apply_theme()
        self.schedule(0)

    # -- drawing ----------------------------------------------------------------
    def _build_artists(self) -> None:
        ax, ax2 = self.ax, self.ax2
        self.line_steps, = ax.plot([], [], color="0.6", lw=0.8, label="train loss (step)")
        self.line_train, = ax.plot([], [], "o-", color="tab:blue", ms=3, label="train loss")
        self.line_val, = ax.plot([], [], "s-", color="tab:orange", ms=3, label="val loss")
        self.line_best = ax.axvline(np.nan, color="tab:red", lw=0.8, ls=":", label="best epoch")
        self.line_metric, = ax2.plot([], [], "^--", color="tab:green", ms=3, label="val metric")
        ax2.set_ylim(0.0, 1.0)  # metrics (IoU, accuracy) live in 0..1: a fixed axis reads at a glance
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
        for a in (ax, ax2):
            a.tick_params(labelsize=7)
        self.legend = ax.legend(handles=[self.line_steps, self.line_train, self.line_val, self.line_metric,
                                         self.line_best],
                                fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
                                frameon=False)

    def _apply_theme(self) -> None:
        c = self.colors
        self.figure.set_facecolor(c["figure"])
        self.ax.set_facecolor(c["axes"])
        for a in (self.ax, self.ax2):
            a.tick_params(colors=c["text"], which="both")
            a.xaxis.label.set_color(c["text"])
            a.yaxis.label.set_color(c["text"])
            for spine in a.spines.values():
                spine.set_color(c["grid"])
        for text in self.legend.get_texts():
            text.set_color(c["text"])

    def _snapshot(self) -> tuple:
        return list(self.steps), list(self.epochs), self.metric_name, self.best_step

    def _update_artists(self, snapshot) -> None:
        steps, epochs, metric_name, best_step = snapshot
        ax = self.ax
        top, right = 0.0, 1.0
        if steps:
            x, y = np.array(steps, dtype=float).T
            self.line_steps.set_data(x, y)
            finite = y[np.isfinite(y)]
            top = float(np.percentile(finite, 98)) if finite.size else 0.0  # an early spike stays off-scale
            right = max(right, float(x[-1]))
        else:
            self.line_steps.set_data([], [])
        xs = [e[0] for e in epochs]
        for line, idx in ((self.line_train, 1), (self.line_val, 2), (self.line_metric, 3)):
            pts = [(x, e[idx]) for x, e in zip(xs, epochs) if e[idx] is not None and np.isfinite(e[idx])]
            line.set_data([p[0] for p in pts], [p[1] for p in pts])
            if idx < 3 and pts:
                top = max(top, max(p[1] for p in pts))
        if xs:
            right = max(right, float(xs[-1]))
        at = np.nan if best_step is None else best_step  # NaN: no line yet, but a legend entry
        self.line_best.set_xdata([at, at])
        label = f"val {metric_name}" if metric_name else "val metric"
        self.line_metric.set_label(label)
        self.legend.get_texts()[3].set_text(label)
        self.ax2.set_ylabel(metric_name, fontsize=8)
        ax.set_xlim(0, right * 1.02)
        ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
        self.ax2.set_ylim(0.0, 1.0)

    def _render(self, snapshot, width: int, height: int, ratio: float) -> QImage:
        """Draw the figure at ``width`` x ``height`` device pixels (any thread)."""
        with self._lock:
            self._update_artists(snapshot)
            self.figure.set_size_inches(max(width, 50) / DPI, max(height, 50) / DPI)
            self.figure.set_dpi(DPI * ratio)
            canvas = self.figure.canvas
            canvas.draw()
            w, h = canvas.get_width_height(physical=True)
            image = QImage(bytes(canvas.buffer_rgba()), w, h, 4 * w, QImage.Format_RGBA8888).copy()
        image.setDevicePixelRatio(ratio)
        return image

    def schedule(self, delay: float) -> None:
        """Redraw after ``delay`` seconds (an earlier pending redraw wins)."""
        if not self._timer.isActive() or self._timer.remainingTime() > delay * 1000:
            self._timer.start(int(delay * 1000))

    def _size(self) -> tuple[int, int, float]:
        ratio = float(self.devicePixelRatioF()) if hasattr(self, "devicePixelRatioF") else 1.0
        return self.width(), self.height(), ratio

    def _render_async(self) -> None:
        if self._in_flight:  # one at a time: draw the newest data once this one is shown
            self._pending = True
            return
        self._in_flight, self._pending = True, False
        self._last_request = time.monotonic()
        snapshot, (w, h, ratio) = self._snapshot(), self._size()

        def job() -> None:
            try:
                image = self._render(snapshot, w, h, ratio)
            except Exception as exc:  # never lose the in-flight flag
                image = exc
            try:
                self._relay.done.emit(image)
            except RuntimeError:  # the widget was deleted meanwhile
                pass
        _RENDERER.submit(job)

    def _show(self, image) -> None:
        self._in_flight = False
        if isinstance(image, QImage):
            self._pixmap = QPixmap.fromImage(image)
            self.renders += 1
            self.update()
        if self._pending:
            self.schedule(self.min_interval)

    def render_now(self) -> None:
        """Draw and show the current data synchronously (tests, screenshots)."""
        self._timer.stop()
        self._pixmap = QPixmap.fromImage(self._render(self._snapshot(), *self._size()))
        self.renders += 1
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self.colors["figure"]))
        if self._pixmap is not None:
            painter.drawPixmap(QRectF(self.rect()), self._pixmap, QRectF(self._pixmap.rect()))
        painter.end()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.schedule(0.1)
