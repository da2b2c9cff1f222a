"""Qt event-loop latency while the Train and Predict widgets work (needs a display: run under Xvfb).

A QTimer probe fires every 10 ms on the main thread and records how late
each tick is: the lateness is how long the GUI could not react (a stall).
Phases: segment training and instance training on the nuclei2d sample (the
widgets opened through napari's plugin doors, driven by their buttons), then
a prediction with the instance model. Prints p50/p95/max lateness per phase.

    xvfb-run -a -s "-screen 0 1600x1000x24" \
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gui_latency.py

Target (issue 12): worst stall under 200 ms in every phase.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

PERIOD_MS = 10


class Probe:
    """A 10 ms QTimer recording how late each tick arrives (ms)."""

    def __init__(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(PERIOD_MS)
        self.timer.timeout.connect(self._tick)
        self.lateness: list[float] = []
        self.stalls: list[tuple[float, float]] = []  # (seconds into the phase, ms) of ticks > 50 ms late
        self._last = self._t0 = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            late = max(0.0, (now - self._last) * 1e3 - PERIOD_MS)
            self.lateness.append(late)
            if late > 50:
                self.stalls.append((self._last - self._t0, late))
        self._last = now

    def start(self) -> None:
        self.lateness, self.stalls, self._last = [], [], None
        self._t0 = time.perf_counter()
        self.timer.start()

    def stop(self, verbose: bool = False) -> np.ndarray:
        self.timer.stop()
        if verbose and self.stalls:
            print("  stalls > 50 ms at", ", ".join(f"{t:.2f}s:{ms:.0f}ms" for t, ms in self.stalls), flush=True)
        return np.asarray(self.lateness or [0.0])


def spin(condition, timeout: float) -> float:
    """Run the Qt event loop (as napari does) until ``condition()`` is true; returns the seconds taken."""
    from qtpy.QtCore import QEventLoop, QTimer

    t0 = time.perf_counter()
    loop = QEventLoop()
    check = QTimer()
    check.timeout.connect(lambda: loop.quit() if condition() or time.perf_counter() - t0 > timeout else None)
    check.start(50)
    loop.exec_()
    check.stop()
    return time.perf_counter() - t0


def run_until_idle(widget, timeout: float) -> float:
    """Run the event loop until ``widget`` has no worker (cancelled after ``timeout`` s)."""
    took = spin(lambda: not widget.busy, timeout)
    if widget.busy:
        widget.cancel()
        took = spin(lambda: not widget.busy, 600)
    t0 = time.perf_counter()
    spin(lambda: time.perf_counter() - t0 > 0.3, 1)  # let the result slots and redraws run
    return took


def paint_sparse(gt: np.ndarray, strokes: int = 40, seed: int = 0) -> np.ndarray:
    """Sparse class ids as a user paints them: disks of background (1) and nuclei (2)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(gt.shape, np.uint8)
    yy, xx = np.mgrid[-2:3, -2:3]
    disk = yy ** 2 + xx ** 2 <= 5
    for label, coords in ((1, np.argwhere(gt == 0)), (2, np.argwhere(gt > 0))):
        for y, x in coords[rng.choice(len(coords), strokes, replace=False)]:
            ys, xs = np.clip(y + yy[disk], 0, gt.shape[0] - 1), np.clip(x + xx[disk], 0, gt.shape[1] - 1)
            out[ys, xs] = label
    return out


def configure_train(w, task: str, seconds: float, tiny: bool = False) -> None:
    w.task.value = task
    w.time_budget.value = seconds
    w.epochs.value = 10_000  # the budget decides
    if tiny:  # hundreds of steps (events) per second: the event flood case
        w.depth.value, w.base_width.value, w.patch.value, w.batch.value = 1, 4, "32", 8
    labels_kind = getattr(w, "label_kind", None)
    if labels_kind is not None:
        labels_kind.value = "auto"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=25.0, help="training budget per task (default 25)")
    p.add_argument("--tasks", default="segment,instance")
    p.add_argument("--tiny", action="store_true", help="a tiny model (depth 1, width 4, patch 32): many events")
    p.add_argument("--verbose", action="store_true", help="list every stall over 50 ms (when, how long)")
    args = p.parse_args()

    import napari
    from bioimg_napari._launch import ensure_registered

    ensure_registered()
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 1000)
    image, gt = viewer.open_sample("bioimg", "nuclei2d")
    painted = viewer.add_labels(paint_sparse(np.asarray(gt.data)), name="painted")
    _, train = viewer.window.add_plugin_dock_widget("bioimg", "Train")
    _, predict = viewer.window.add_plugin_dock_widget("bioimg", "Predict", tabify=True)
    t0 = time.perf_counter()
    spin(lambda: time.perf_counter() - t0 > 1.0, 2)

    probe = Probe()
    rows = []
    probe.start()  # idle reference
    t0 = time.perf_counter()
    spin(lambda: time.perf_counter() - t0 > 2.0, 3)
    rows.append(("idle (2 s)", 2.0, probe.stop(args.verbose)))

    model_path = None
    for task in args.tasks.split(","):
        train.image.value = image
        train.labels.value = painted if task == "segment" else gt
        configure_train(train, task, args.seconds, args.tiny)
        train.reset_choices()
        train.image.value = image
        train.labels.value = painted if task == "segment" else gt
        spin(train.button.isEnabled, 5)  # the button ignores clicks just after a run ended
        probe.start()
        train.button.click()
        if not train.busy:
            raise SystemExit(f"training {task} did not start: {train.status.text()}")
        took = run_until_idle(train, args.seconds * 4 + 60)
        rows.append((f"train {task} ({args.seconds:.0f} s budget)", took, probe.stop(args.verbose)))
        if train.model is None:
            raise SystemExit(f"training {task} failed: {train.status.text()}")
        model_path = train.save_model(Path(tempfile.mkdtemp()) / f"{task}.bioimg")

    predict.load_model(model_path)
    predict.image.value = image
    spin(predict.button.isEnabled, 5)
    probe.start()
    predict.button.click()
    took = run_until_idle(predict, 300)
    rows.append((f"predict ({model_path.stem} model)", took, probe.stop(args.verbose)))

    print(f"{'phase':<34} {'wall s':>7} {'ticks':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for name, took, late in rows:
        print(f"{name:<34} {took:7.1f} {late.size:6d} {np.percentile(late, 50):7.1f} "
              f"{np.percentile(late, 95):7.1f} {late.max():7.1f}")
    worst = max(late.max() for _, _, late in rows[1:])
    print(f"worst stall {worst:.0f} ms (target < 200 ms)")
    viewer.close()


if __name__ == "__main__":
    main()
