"""The docked widgets fit small screens, their tab names are readable, and every field explains itself."""
from __future__ import annotations

import pytest

from bioimg_napari import WIDGETS

pytestmark = pytest.mark.gui


@pytest.fixture
def launched(make_napari_viewer, qtbot):
    """What ``bioimg gui`` shows: every widget docked, tabbed on the right, in a shown window."""
    from bioimg_napari import launch

    viewer = make_napari_viewer(show=True)
    launch([], viewer=viewer)
    viewer.open_sample("bioimg", "nuclei2d")
    qtbot.wait(50)
    return viewer


def _settle(qtbot, window, width: int, height: int) -> None:
    window.showNormal()
    window.resize(width, height)
    qtbot.wait(100)


def test_dock_fits_a_1366x768_screen(launched, qtbot):
    window = launched.window._qt_window
    _settle(qtbot, window, 1366, 768)
    assert window.minimumSizeHint().height() <= 700  # room for a task bar and a title bar
    assert window.height() == 768 and window.width() == 1366
    for name, widget in launched.window.dock_widgets.items():
        if name.split(" ")[0] in WIDGETS:
            assert widget.minimumSizeHint().height() <= 300, name  # the form scrolls instead


def test_tab_names_are_not_elided_at_1600_px(launched, qtbot):
    from qtpy.QtWidgets import QTabBar

    window = launched.window._qt_window
    _settle(qtbot, window, 1600, 1000)
    bars = [bar for bar in window.findChildren(QTabBar)
            if {bar.tabText(i) for i in range(bar.count())} >= set(WIDGETS)]
    assert bars, "the five widgets are not tabbed together"
    bar = bars[0]
    metrics = bar.fontMetrics()
    for i in range(bar.count()):
        text = bar.tabText(i)
        assert bar.tabRect(i).width() >= metrics.horizontalAdvance(text), f"tab {text!r} is clipped"


def test_every_field_has_a_tooltip(viewer, dock):
    from magicgui.widgets import Container

    for name in ("Preprocess", "Predict", "Evaluate", "Explain"):
        widget = dock(viewer, name)
        fields = [w for w in widget.form if not isinstance(w, Container)]
        missing = [w.name for w in fields if not (w.tooltip or "").strip()]
        assert not missing, f"{name}: no tooltip on {missing}"
        buttons = [widget.button] + ([widget.load_button] if hasattr(widget, "load_button") else [])
        assert all(b.toolTip() for b in buttons)
