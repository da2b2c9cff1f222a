"""Open napari with the bioimg widgets docked: what ``bioimg gui [FILE...]`` runs."""
from __future__ import annotations

import os
from typing import Sequence

from . import MANIFEST, WIDGETS


def ensure_registered() -> None:
    """Register the plugin's manifest with npe2 when the package is not installed (running from source)."""
    from npe2 import PluginManager, PluginManifest

    pm = PluginManager.instance()
    if "bioimg" not in pm:
        pm.register(PluginManifest.from_file(MANIFEST))


def launch(files: Sequence[str | os.PathLike] = (), *, viewer=None, show: bool = True,
           widgets: Sequence[str] = WIDGETS):
    """Create (or reuse) a viewer, open ``files`` with the bioimg reader and dock the widgets.

    Parameters
    ----------
    files : sequence of path
        Images to open (TIFF/OME-TIFF, NIfTI, DICOM files or folders).
    viewer : napari.Viewer, optional
        Reuse this viewer instead of creating one.
    show : bool
        Show the window (False for tests and scripts).
    widgets : sequence of str
        Which widgets to dock (display names from ``napari.yaml``), tabbed on the right.

    Returns
    -------
    napari.Viewer

    Raises
    ------
    bioimg.io.ImageReadError
        If a file cannot be read (the viewer is closed again when this call created it).
    """
    import napari

    ensure_registered()
    own = viewer is None
    if own:
        viewer = napari.Viewer(title="bioimg", show=show)
    try:
        for path in files:
            viewer.open(os.fspath(path), plugin="bioimg")
        for i, name in enumerate(widgets):
            viewer.window.add_plugin_dock_widget("bioimg", name, tabify=i > 0)
    except BaseException:
        if own:
            viewer.close()
        raise
    return viewer
