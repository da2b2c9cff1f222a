"""``bioimg gui [FILE...]``: open napari with the bioimg widgets docked.

The plugin contributes this subcommand to the ``bioimg`` CLI through the
``bioimg.commands`` entry point, so ``bioimg`` itself never imports napari.
napari is imported only when the command runs.
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``gui`` sub-parser."""
    p = subparsers.add_parser(
        "gui", help="open napari with the bioimg widgets",
        description="Open napari with the Preprocess, Train, Predict, Evaluate and Explain widgets docked, "
                    "and the given images opened with their voxel size.")
    p.add_argument("files", nargs="*", metavar="FILE", help="images to open (TIFF, OME-TIFF, NIfTI, DICOM)")
    p.add_argument("--sample", choices=("nuclei2d", "nuclei3d", "mri"),
                   help="also open a sample image (as File > Open Sample)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the GUI; returns 0 when the window is closed."""
    from bioimg.cli import CLIError

    try:
        import napari
        from bioimg_napari import launch
    except ImportError as exc:
        raise CLIError(f"the GUI needs napari and a Qt binding ({exc.name or exc} is missing): "
                       "pip install 'bioimg[napari]'") from None
    from pathlib import Path

    for f in args.files:
        if not Path(f).exists():
            raise CLIError(f"{f}: no such file or folder")
    viewer = launch(args.files)
    if args.sample:
        viewer.open_sample("bioimg", args.sample)
    napari.run()
    return 0
