"""bioimg.io on bad input: every failure is an ImageReadError/ImageWriteError naming the file."""
from __future__ import annotations

import copy
import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from bioimg.io import Image, ImageReadError, ImageWriteError, read, write

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_NII = ROOT / "sample_data" / "mri_epi_aniso.nii.gz"


def _expect_read_error(path, match: str) -> ImageReadError:
    with pytest.raises(ImageReadError, match=match) as info:
        read(path)
    assert str(Path(path)) in str(info.value)  # the message names the file
    assert "\n" not in str(info.value)  # one line for the CLI
    return info.value


def test_errors_are_value_errors():
    assert issubclass(ImageReadError, ValueError) and issubclass(ImageWriteError, ValueError)
    err = ImageReadError("a.tif", "broken\nheader")
    assert err.path == "a.tif" and err.reason == "broken header"
    assert str(err) == "cannot read 'a.tif': broken header"
    assert str(ImageWriteError("plain message")) == "plain message"


def test_missing_file(tmp_path):
    _expect_read_error(tmp_path / "nope.tif", "no such file")


def test_directory_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("not an image")
    _expect_read_error(tmp_path, "no TIFF or DICOM")


def test_unknown_extension(tmp_path):
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    _expect_read_error(path, "unsupported file type '.png'")


@pytest.mark.parametrize("name", ["empty.tif", "empty.nii.gz", "empty.dcm"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    _expect_read_error(tmp_path / name, "empty")


@pytest.mark.parametrize("name, content, match", [
    ("fake.tif", b"\x89PNG\r\n\x1a\n" + bytes(200), "not a TIFF"),
    ("fake.nii.gz", bytes(400), "not a gzip"),
    ("fake.nii", b"hello" * 100, "not a NIfTI"),
    ("fake.dcm", bytes(300), "DICM"),
])
def test_wrong_magic_bytes(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    _expect_read_error(tmp_path / name, match)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_tiff(tmp_path, compression):
    path = tmp_path / "t.tif"
    write(path, np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32), compression=compression)
    data = path.read_bytes()
    for cut in (len(data) // 2, 400, 12, 5):
        path.write_bytes(data[:cut])
        _expect_read_error(path, ".")


def test_truncated_tiff_message(tmp_path):
    path = tmp_path / "t.tif"
    write(path, np.zeros((4, 64, 64), np.uint16))
    path.write_bytes(path.read_bytes()[:20000])
    _expect_read_error(path, "truncated")


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_truncated_nifti(tmp_path, suffix):
    noise = np.random.default_rng(1).integers(0, 1000, (8, 16, 16), dtype=np.int16)
    path = write(tmp_path / f"t{suffix}", noise)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 6, 400):  # -6: only the gzip trailer is cut
        path.write_bytes(data[:cut])
        _expect_read_error(path, ".")


def test_truncated_nii_says_so(tmp_path):
    path = write(tmp_path / "t.nii", np.zeros((8, 16, 16), np.int16))
    path.write_bytes(path.read_bytes()[:1000])
    _expect_read_error(path, "truncated")


def test_complex_tiff_is_unsupported(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((4, 4), np.complex64))
    _expect_read_error(tmp_path / "c.tif", "unsupported data type complex64")


def test_complex_nifti_is_unsupported(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((2, 3, 4), np.complex64), np.eye(4)), tmp_path / "c.nii")
    _expect_read_error(tmp_path / "c.nii", "unsupported data type")


def test_5d_nifti_is_unsupported(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((2, 3, 4, 2, 3), np.float32), np.eye(4)), tmp_path / "v.nii.gz")
    _expect_read_error(tmp_path / "v.nii.gz", "dimensionality")


def test_nifti_header_promising_too_much_data(tmp_path):
    img = nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4))
    raw = bytearray(img.header.binaryblock)
    raw[42:48] = np.array([30000, 30000, 30000], "<i2").tobytes()  # dim[1..3]
    path = tmp_path / "huge.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw) + bytes(4) + bytes(256)))
    _expect_read_error(path, "too many")


def test_1d_tiff_is_unsupported(tmp_path):
    # tifffile stores a 1-D array as a single-row image; shaped metadata says 1-D
    tifffile.imwrite(tmp_path / "line.tif", np.arange(10, dtype=np.uint8), metadata={"axes": "X"})
    _expect_read_error(tmp_path / "line.tif", ".")


def test_series_out_of_range(tmp_path):
    write(tmp_path / "a.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageReadError, match="series 3"):
        read(tmp_path / "a.tif", series=3)
    with pytest.raises(ImageReadError, match="series"):
        read(SAMPLE_NII, series=1)
    with pytest.raises(ImageReadError, match="non-negative"):
        read(SAMPLE_NII, series=-1)


def test_raw_library_errors_never_escape(tmp_path):
    path = tmp_path / "junk.tif"
    path.write_bytes(b"II*\x00" + b"\xff" * 60)  # valid magic, nonsense IFD offset
    err = _expect_read_error(path, ".")
    assert err.__cause__ is not None or "TIFF" in str(err)


# -------------------------------------------------------------------- DICOM

def test_dicom_without_pixel_data():
    path = get_testdata_file("rtplan.dcm")
    _expect_read_error(path, "no pixel data")


def _series(folder: Path, n: int = 3, tweak=None) -> None:
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    uid = generate_uid()
    for k in range(n):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID, ds.SOPInstanceUID = uid, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [0.0, 0.0, 2.0 * k]
        ds.InstanceNumber = k + 1
        if tweak is not None and k == n - 1:
            tweak(ds)
        ds.save_as(folder / f"slice{k}.dcm", enforce_file_format=True)


def _other_shape(ds):
    ds.Rows, ds.Columns = 32, 32
    ds.PixelData = np.zeros((32, 32), np.int16).tobytes()


def _other_orientation(ds):
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]


def _no_position(ds):
    del ds.ImagePositionPatient


def _same_position(ds):
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]


def _other_spacing(ds):
    ds.PixelSpacing = [0.5, 0.5]


@pytest.mark.parametrize("tweak, match", [
    (_other_shape, "inconsistent series"), (_other_orientation, "orientation"),
    (_no_position, "lack ImagePositionPatient"), (_same_position, "share one position"),
    (_other_spacing, "pixel spacing"),
])
def test_inconsistent_dicom_series(tmp_path, tweak, match):
    _series(tmp_path, tweak=tweak)
    _expect_read_error(tmp_path, match)


def test_dicom_series_without_order(tmp_path):
    def strip(ds):
        del ds.ImagePositionPatient
        del ds.InstanceNumber

    _series(tmp_path, n=2, tweak=strip)
    for f in tmp_path.iterdir():  # make every slice position-less
        ds = pydicom.dcmread(f)
        if "ImagePositionPatient" in ds:
            del ds.ImagePositionPatient
            ds.InstanceNumber = 5
            ds.save_as(f)
    _expect_read_error(tmp_path, "cannot order slices")


def test_folder_mixing_tiff_and_dicom(tmp_path):
    _series(tmp_path, n=2)
    tifffile.imwrite(tmp_path / "extra.tif", np.zeros((4, 4), np.uint8))
    _expect_read_error(tmp_path, "mixes")


def test_corrupt_dicom_in_series(tmp_path):
    _series(tmp_path, n=2)
    victim = tmp_path / "slice1.dcm"
    victim.write_bytes(victim.read_bytes()[:400])
    with pytest.raises(ImageReadError):
        read(tmp_path)


# -------------------------------------------------------------------- write

def test_write_errors(tmp_path):
    with pytest.raises(ImageWriteError, match="unsupported extension"):
        write(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageWriteError, match="complex"):
        write(tmp_path / "a.tif", np.zeros((4, 4), np.complex64))
    with pytest.raises(ImageWriteError, match="axes"):
        write(tmp_path / "a.tif", np.zeros((2, 3, 4, 5), np.uint8))  # 4-D needs axes
    with pytest.raises(ImageWriteError, match="letters"):
        write(tmp_path / "a.tif", np.zeros((4, 4), np.uint8), axes="ZYX")
    with pytest.raises(ImageWriteError, match="does not exist"):
        write(tmp_path / "missing" / "a.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageWriteError, match="is a directory"):
        (tmp_path / "d.tif").mkdir()
        write(tmp_path / "d.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageWriteError, match="NIfTI"):
        write(tmp_path / "a.nii", Image(np.zeros((3, 4, 4), np.uint8), "CYX", (1, 1)))
    with pytest.raises(ImageWriteError, match="unit"):
        write(tmp_path / "a.ome.tif", Image(np.zeros((4, 4), np.uint8), "YX", (1, 1), "parsec"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tif"]
