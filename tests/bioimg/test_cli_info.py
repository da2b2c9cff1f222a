"""``bioimg info``: per-file summary, exit code 2 with one line on bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from bioimg.cli import main
from bioimg.io import Image, _tiff, write
from bioimg.io._dtypes import value_range

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def test_info_tiff_sample(capsys):
    path = SAMPLES / "nuclei3d_image.tif"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == str(path)
    assert "shape:    32 x 128 x 128" in out
    assert "dtype:    uint16" in out
    assert "axes:     ZYX" in out
    assert "spacing:  Z 0.29, Y 0.26, X 0.26 micrometer" in out
    assert "range:    522 .. 39738" in out
    assert "orientation" not in out


def test_info_nifti_shows_orientation(capsys):
    assert main(["info", str(SAMPLES / "mri_epi_aniso.nii.gz")]) == 0
    out = capsys.readouterr().out
    assert "axes:     ZYX" in out and "spacing:  Z 5, Y 4, X 4 millimeter" in out
    assert "orientation: LPS" in out and "format:   nifti" in out


def test_info_several_files_and_dicom(capsys):
    files = [str(SAMPLES / "nuclei2d_labels.tif"), get_testdata_file("MR_small.dcm")]
    assert main(["info", *files]) == 0
    out = capsys.readouterr().out
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    assert "range:    0 .. 73" in blocks[0] and "spacing:  Y 1, X 1 pixel" in blocks[0]
    assert "format:   dicom" in blocks[1] and "0.3125 millimeter" in blocks[1]


def test_info_folder_and_float_nan(tmp_path, capsys):
    data = np.array([[np.nan, 1.5], [-2.0, np.inf]], np.float32)
    for i in range(2):
        write(tmp_path / f"s{i}.tif", data)
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "format:   tiff-folder" in out and "shape:    2 x 2 x 2" in out
    assert "range:    -2 .. 1.5" in out  # NaN and inf ignored


def test_info_memmapped_range_is_chunked(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_tiff, "MEMMAP_MIN_BYTES", 0)
    data = np.arange(5 * 6 * 7, dtype=np.uint16).reshape(5, 6, 7)
    path = write(tmp_path / "m.tif", Image(data, "ZYX", (1.0, 1.0, 1.0)))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(memory-mapped)" in out and f"range:    0 .. {data.max()}" in out
    assert value_range(data, chunk_bytes=1) == (0, int(data.max()))  # one plane at a time


@pytest.mark.parametrize("name, content, match", [
    ("missing.tif", None, "no such file"),
    ("x.png", b"\x89PNG", "unsupported file type"),
    ("e.tif", b"", "empty"),
    ("bad.nii.gz", b"not gzip at all", "not a gzip"),
])
def test_info_bad_input_exit_code_2(tmp_path, capsys, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bioimg info: error:") and match in err and str(path) in err
    assert len(err.splitlines()) == 1


def test_info_series_option(tmp_path, capsys):
    assert main(["info", "--series", "1", str(SAMPLES / "nuclei2d_image.tif")]) == 2
    assert "series 1" in capsys.readouterr().err


def test_info_requires_a_file(capsys):
    with pytest.raises(SystemExit) as info:
        main(["info"])
    assert info.value.code == 2
