"""Background work with ``napari.qt.threading``: start workers and route their signals.

Every long computation (training, prediction, diffusion, saliency) runs in a
worker thread; results, progress and errors come back on the Qt main thread.
"""
from __future__ import annotations

from typing import Any, Callable

from qtpy.QtCore import QObject, Signal


class ProgressRelay(QObject):
    """Carries ``(done, total)`` from a worker thread to the main thread (queued Qt signal).

    Pass :meth:`report` as the ``progress`` callback of a ``bioimg``
    function; connect ``changed`` to a progress bar. Functions that work in
    stages (prediction: ``"tiles"``, then ``"stitching"`` of instance labels;
    see :mod:`bioimg.inference._progress`) pass ``stage``: ``stage_changed``
    carries its name, before the first count of that stage.
    """

    changed = Signal(int, int)
    stage_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stage: str | None = None

    def reset(self) -> None:
        """Forget the last stage (a new run starts): its first stage is announced again."""
        self._stage = None

    def report(self, done: int, total: int, stage: str | None = None) -> None:
        """Callback for ``bioimg`` functions; safe to call from any thread (one run at a time)."""
        if stage != self._stage:
            self._stage = stage
            self.stage_changed.emit(stage or "")
        self.changed.emit(int(done), int(total))


def start_worker(function: Callable, *args: Any, yielded: Callable | None = None,
                 returned: Callable | None = None, errored: Callable | None = None,
                 finished: Callable | None = None, **kwargs: Any):
    """Run ``function(*args, **kwargs)`` in a napari worker thread and start it.

    Parameters
    ----------
    function : callable
        A plain function (``FunctionWorker``) or a generator function
        (``GeneratorWorker``: each yielded value goes to ``yielded``).
    yielded, returned, errored, finished : callable, optional
        Slots connected to the worker's signals before it starts; they run
        on the main thread.

    Returns
    -------
    napari.qt.threading.WorkerBase
        The started worker.
    """
    from napari.qt.threading import create_worker

    slots = {"yielded": yielded, "returned": returned, "errored": errored, "finished": finished,
             "warned": _show_warning}
    connect = {name: slot for name, slot in slots.items() if slot is not None}
    # With an "errored" slot the worker does not re-raise in the main thread; without one, errors
    # still reach napari's handler rather than vanishing.
    worker = create_worker(function, *args, _connect=connect, _start_thread=False, **kwargs)
    worker.start()
    return worker


def _show_warning(warning: tuple) -> None:
    """A warning raised in a worker (``warnings.showwarning`` arguments) as a napari notification."""
    from napari.utils.notifications import show_warning

    show_warning(str(warning[0]))
