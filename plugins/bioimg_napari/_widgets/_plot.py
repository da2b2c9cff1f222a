"""A live plot of training and validation loss and the validation metric (matplotlib in Qt)."""
from __future__ import annotations

import time

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure


class LossPlot(FigureCanvasQTAgg):
    """Training loss per step, validation loss per epoch (left axis) and the metric (right axis).

    Redraws at most every ``min_interval`` seconds for step events and on
    every epoch, so a fast loop does not flood the GUI.
    """

    def __init__(self, min_interval: float = 0.5) -> None:
        fig = Figure(figsize=(3.6, 2.8), dpi=90, layout="constrained")
        super().__init__(fig)
        self.setMinimumHeight(200)
        self.ax = fig.add_subplot(111)
        self.ax2 = self.ax.twinx()
        self.min_interval = min_interval
        self._last_draw = 0.0
        self.clear()

    def clear(self) -> None:
        """Forget all points (a new run starts)."""
        self.steps: list[tuple[int, float]] = []
        self.epochs: list[tuple[int, float | None, float | None, float | None]] = []
        self.metric_name = ""
        self.best_step: int | None = None
        self.redraw()

    def add(self, event) -> None:
        """Add a ``bioimg.training.Progress`` event."""
        if event.kind == "step":
            self.steps.append((event.step, event.loss))
            if time.monotonic() - self._last_draw >= self.min_interval:
                self.redraw()
        elif event.kind == "epoch":
            self.epochs.append((event.step, event.loss, event.val_loss, event.val_metric))
            self.metric_name = event.metric_name or "metric"
            if event.best_epoch:
                self.best_step = self.epochs[event.best_epoch - 1][0]
            self.redraw()
        else:
            self.redraw()

    def redraw(self) -> None:
        """Draw the curves now."""
        ax, ax2 = self.ax, self.ax2
        ax.clear()
        ax2.clear()
        if self.steps:
            x, y = zip(*self.steps)
            ax.plot(x, y, color="0.65", lw=0.8, label="train loss (step)")
        if self.epochs:
            xs = [e[0] for e in self.epochs]
            ax.plot(xs, [e[1] for e in self.epochs], "o-", color="tab:blue", ms=3, label="train loss")
            val = [(x, e[2]) for x, e in zip(xs, self.epochs) if e[2] is not None]
            if val:
                ax.plot(*zip(*val), "s-", color="tab:orange", ms=3, label="val loss")
            met = [(x, e[3]) for x, e in zip(xs, self.epochs) if e[3] is not None]
            if met:
                ax2.plot(*zip(*met), "^--", color="tab:green", ms=3, label=f"val {self.metric_name}")
                ax2.set_ylabel(self.metric_name, fontsize=8)
        if self.best_step is not None:
            ax.axvline(self.best_step, color="tab:red", lw=0.8, ls=":", label="best")
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
        ax.tick_params(labelsize=7)
        ax2.tick_params(labelsize=7)
        ax2.yaxis.set_label_position("right")
        ax2.yaxis.tick_right()
        handles = ax.get_legend_handles_labels()
        handles2 = ax2.get_legend_handles_labels()
        if handles[0] or handles2[0]:
            ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], fontsize=6, loc="upper center",
                      bbox_to_anchor=(0.5, 1.22), ncol=3, frameon=False)
        self.draw_idle()
        self._last_draw = time.monotonic()
