"""Fixtures for the napari plugin tests: a real viewer (under Xvfb), notifications, waiting for workers."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")
pytest.importorskip("npe2")


def _engine_ready() -> bool:
    try:
        import autograd.nn as nn
        from bioimg.models import build_model

        build_model("unet", in_channels=1, out_channels=2, ndim=2, depth=1, base_width=4)
        return hasattr(nn, "Conv2d") and hasattr(nn, "Conv3d")
    except Exception:
        return False


def _normalize_ready() -> bool:
    try:
        from bioimg.preprocess import normalize  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.fixture(scope="session")
def requires_normalize():
    """Skip until ``bioimg.preprocess.normalize`` exists."""
    if not _normalize_ready():
        pytest.skip("bioimg.preprocess.normalize not available yet")


@pytest.fixture(scope="session")
def requires_engine(requires_normalize):
    """Skip until the engine's layers (``autograd.nn.Conv2d``...) can build a model."""
    if not _engine_ready():
        pytest.skip("autograd.nn layers not available yet")


@pytest.fixture(autouse=True)
def _registered():
    """The plugin's manifest is known to npe2 (installed, or registered from the source tree)."""
    from bioimg_napari._launch import ensure_registered

    ensure_registered()


@pytest.fixture
def viewer(make_napari_viewer):
    """A napari viewer (hidden); napari's fixture closes it after the test."""
    return make_napari_viewer()


class Notes:
    """Notifications shown since the fixture was created."""

    def __init__(self):
        from napari.utils.notifications import notification_manager

        self._manager = notification_manager
        self._start = len(notification_manager.records)

    def _of(self, severity: str) -> list[str]:
        return [str(r.message) for r in self._manager.records[self._start:] if str(r.severity) == severity]

    @property
    def errors(self) -> list[str]:
        return self._of("error")

    @property
    def warnings(self) -> list[str]:
        return self._of("warning")

    @property
    def infos(self) -> list[str]:
        return self._of("info")


@pytest.fixture
def notes():
    """Collect napari notifications (errors become notifications, not tracebacks)."""
    return Notes()


@pytest.fixture
def wait(qtbot):
    """``wait(widget, timeout_s)``: run the Qt loop until the widget's worker has finished.

    It also waits for the button to accept clicks again (it ignores clicks for a moment after
    switching between Run and Cancel), so the next ``click`` is not swallowed.
    """
    def _wait(widget, timeout: float = 60.0) -> None:
        qtbot.waitUntil(lambda: not widget.busy and widget.button.isEnabled(), timeout=int(timeout * 1000))
    return _wait


@pytest.fixture
def click(qtbot):
    """``click(widget)``: press the widget's Run/Cancel button with the mouse, as a user would.

    Waits until the button accepts clicks (see ``ROLE_GUARD_MS``), then clicks it once.
    """
    from qtpy.QtCore import Qt

    def _click(widget, timeout: float = 10.0) -> None:
        qtbot.waitUntil(widget.button.isEnabled, timeout=int(timeout * 1000))
        qtbot.mouseClick(widget.button, Qt.MouseButton.LeftButton)
    return _click


def display_name(widget) -> str:
    """The manifest display name ("Train"...) of a widget class, or the name itself."""
    if isinstance(widget, str):
        return widget
    from npe2 import PluginManifest

    from bioimg_napari import MANIFEST

    manifest = PluginManifest.from_file(MANIFEST)
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    target = f"{widget.__module__}:{widget.__qualname__}"
    for contribution in manifest.contributions.widgets:
        if commands[contribution.command] == target:
            return contribution.display_name
    raise LookupError(f"{target} is not a widget of the bioimg manifest")


@pytest.fixture
def dock():
    """``dock(viewer, "Train")``: open a widget through napari's plugin door and return it.

    Exactly what Plugins > bioimg > Train does: npe2 finds the command in the manifest and
    napari builds the widget with a ``PublicOnlyProxy`` of the viewer, tabbed on the right.
    A widget class is accepted too (its manifest display name is looked up).
    """
    def _dock(viewer, widget):
        _, instance = viewer.window.add_plugin_dock_widget("bioimg", display_name(widget), tabify=True)
        return instance
    return _dock


def _paint_classes(layer, gt: np.ndarray, strokes: int = 40, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    layer.brush_size = 5
    fg = np.argwhere(gt > 0)
    bg = np.argwhere(gt == 0)
    for label, coords in ((1, bg), (2, fg)):
        for idx in rng.choice(len(coords), strokes, replace=False):
            layer.paint(tuple(coords[idx]), label, refresh=False)
    layer.refresh()


@pytest.fixture
def paint_classes():
    """``paint_classes(layer, gt)``: paint sparse class ids like a user (background 1, nuclei 2)."""
    return _paint_classes
