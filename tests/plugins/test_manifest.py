"""The npe2 manifest is valid, its commands import, and the CLI knows ``gui``."""
from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys

import pytest

from bioimg_napari import MANIFEST, WIDGETS


def test_manifest_validates_and_imports():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(MANIFEST)
    assert manifest.name == "bioimg"
    manifest.validate_imports()  # every python_name resolves
    contrib = manifest.contributions
    assert {w.display_name for w in contrib.widgets} == set(WIDGETS)
    assert {s.key for s in contrib.sample_data} == {"nuclei2d", "nuclei3d", "mri"}
    patterns = contrib.readers[0].filename_patterns
    for pattern in ("*.tif", "*.tiff", "*.ome.tif", "*.nii", "*.nii.gz", "*.dcm"):
        assert pattern in patterns
    assert contrib.readers[0].accepts_directories
    assert {tuple(w.layer_types) for w in contrib.writers} == {("image",), ("labels",)}


@pytest.mark.skipif(shutil.which("npe2") is None, reason="npe2 command line not installed")
def test_npe2_validate_command():
    out = subprocess.run([sys.executable, "-m", "npe2", "validate", str(MANIFEST)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout


def test_entry_point_declared():
    text = (MANIFEST.parents[2] / "pyproject.toml").read_text()
    assert '[project.entry-points."napari.manifest"]' in text
    assert 'bioimg = "bioimg_napari:napari.yaml"' in text


def test_gui_subcommand_parses_without_importing_napari():
    gui = importlib.import_module("bioimg_napari._cli")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    gui.register(sub)
    args = parser.parse_args(["gui", "a.tif", "b.nii.gz", "--sample", "mri"])
    assert args.files == ["a.tif", "b.nii.gz"] and args.sample == "mri" and args.func is gui.run


def test_gui_missing_file_is_a_cli_error(tmp_path):
    from bioimg.cli import CLIError
    from bioimg_napari._cli import run

    with pytest.raises(CLIError, match="no such file"):
        run(argparse.Namespace(files=[str(tmp_path / "missing.tif")], sample=None))


def test_bioimg_cli_gets_gui_from_the_plugin_entry_point():
    from bioimg.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert "gui" in sub.choices
