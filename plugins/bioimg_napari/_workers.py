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
    function; connect ``changed`` to a progress bar.
    """

    changed = Signal(int, int)

    def report(self, done: int, total: int) -> None:
        """Callback for ``bioimg`` functions; safe to call from any thread."""
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
