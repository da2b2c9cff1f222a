"""napari plugin of bioimg: reader, writer, sample data and widgets.

The plugin is a thin front end: every widget calls the same ``bioimg``
functions as the command line, with the same defaults. Contributions are
declared in ``napari.yaml`` (npe2 manifest, entry point ``napari.manifest``).

Examples
--------
Open napari with the widgets docked (as ``bioimg gui`` does)::

    from bioimg_napari import launch
    viewer = launch(["sample_data/nuclei3d_image.tif"])
"""
from __future__ import annotations

from pathlib import Path

MANIFEST = Path(__file__).with_name("napari.yaml")
WIDGETS = ("Preprocess", "Train", "Predict", "Evaluate", "Explain")


def launch(*args, **kwargs):
    """Open a napari viewer with the bioimg widgets docked (see :func:`bioimg_napari._launch.launch`)."""
    from ._launch import launch as _launch

    return _launch(*args, **kwargs)


__all__ = ["MANIFEST", "WIDGETS", "launch"]
