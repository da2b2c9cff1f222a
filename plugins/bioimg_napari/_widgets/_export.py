"""The Train widget's "Export..." action: a bioimage.io package (.zip) or an ONNX file.

Runs ``bioimg.zoo.export_model`` (what ``bioimg export`` runs) in a worker
thread; the result or the one-line error lands in the widget's status line.
"""
from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import QFileDialog

from .._notify import show_error
from .._workers import start_worker

FILTERS = "bioimage.io package (*.zip);;ONNX model (*.onnx)"


def export_model(widget, path: str | Path | None = None):
    """Export ``widget.model`` to ``path`` (asked with a file dialog when None); returns the worker."""
    if widget.model is None:
        show_error("train a model first", "export model")
        return None
    if path is None:
        path, _ = QFileDialog.getSaveFileName(widget, "Export model", f"{widget.model.info.task}.zip",
                                              FILTERS)
        if not path:
            return None
    path = Path(path)
    if path.suffix.lower() not in (".zip", ".onnx"):
        path = path.with_name(path.name + ".zip")
    fmt = "onnx" if path.suffix.lower() == ".onnx" else "zip"
    from bioimg.zoo import export_model as _export

    widget.status.setText(f"exporting to {path}...")

    def failed(exc):
        widget.status.setText(show_error(exc, "export model"))

    widget.export_worker = start_worker(
        _export, widget.model, path, fmt=fmt, errored=failed,
        returned=lambda p: widget.done(f"model exported to {p}"))
    return widget.export_worker
