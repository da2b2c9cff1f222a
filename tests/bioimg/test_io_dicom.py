"""bioimg.io: DICOM files, multi-frame files and folder series."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from bioimg.io import read, write

# -------------------------------------------------------------------- DICOM

def _mr_series(folder: Path, n: int = 4, step: float = 2.5, order=None, tweaks=None) -> list[np.ndarray]:
    """Write ``n`` slices of MR_small at positions step apart, in scrambled file order.

    ``tweaks[k]`` sets (or, for None, deletes) attributes of slice ``k``.
    """
    tweaks = tweaks or {}
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    series_uid = generate_uid()
    order = order if order is not None else list(reversed(range(n)))
    planes = []
    for k in range(n):
        planes.append((base.pixel_array + 100 * k).astype(np.int16))
    for file_index, k in enumerate(order):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [-83.9063, -91.2, 6.6406 + step * k]
        ds.InstanceNumber = k + 1
        ds.PixelData = planes[k].tobytes()
        for key, value in tweaks.get(k, {}).items():
            if value is None:
                delattr(ds, key)
            else:
                setattr(ds, key, value)
        ds.save_as(folder / f"IM{file_index:04d}", enforce_file_format=True)
    return planes


def test_dicom_single_file():
    img = read(get_testdata_file("MR_small.dcm"))
    assert img.axes == "YX" and img.shape == (64, 64) and img.dtype == np.int16
    assert img.spacing == (0.3125, 0.3125) and img.unit == "millimeter"
    assert img.metadata["modality"] == "MR" and img.metadata["orientation"] == "LPS"
    json.dumps(img.metadata)


def test_dicom_without_preamble_and_big_endian(tmp_path):
    raw = Path(get_testdata_file("MR_small.dcm")).read_bytes()
    (tmp_path / "old.dcm").write_bytes(raw[132:])  # ACR-NEMA style: no 128-byte preamble + DICM
    assert read(tmp_path / "old.dcm").shape == (64, 64)
    big = read(get_testdata_file("MR_small_bigendian.dcm"))
    assert big.dtype == np.dtype(np.int16)  # native byte order, whatever the file's
    np.testing.assert_array_equal(big.data, read(get_testdata_file("MR_small.dcm")).data)


def test_dicom_rescale_intercept_stays_integer():
    path = get_testdata_file("CT_small.dcm")
    raw = pydicom.dcmread(path).pixel_array
    img = read(path)
    assert img.dtype == np.int16 and img.metadata["rescale_intercept"] == -1024
    np.testing.assert_array_equal(img.data, raw.astype(np.int32) - 1024)


def test_dicom_multiframe_rtdose():
    img = read(get_testdata_file("rtdose.dcm"))
    assert img.axes == "ZYX" and img.shape == (15, 10, 10)
    assert img.dtype == np.float32  # DoseGridScaling 1e-6
    assert img.spacing == (5.0, 10.0, 10.0)
    raw = pydicom.dcmread(get_testdata_file("rtdose.dcm")).pixel_array
    np.testing.assert_allclose(img.data, raw * 1e-6, rtol=1e-6)


def _dataset(**values) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    for key, value in values.items():
        setattr(ds, key, value)
    return ds


def test_dicom_enhanced_multiframe_uses_functional_groups(tmp_path):
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    planes = [base.pixel_array.astype(np.int16) + 10 * k for k in range(3)]
    frame_order = [2, 0, 1]  # frame i holds plane frame_order[i]: frames are not in space order
    ds = copy.deepcopy(base)
    ds.NumberOfFrames = 3
    ds.PixelData = np.stack([planes[k] for k in frame_order]).tobytes()
    for key in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        delattr(ds, key)
    ds.SharedFunctionalGroupsSequence = [_dataset(
        PixelMeasuresSequence=[_dataset(PixelSpacing=[0.5, 0.5], SliceThickness=1.0)],
        PlaneOrientationSequence=[_dataset(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])],
        PixelValueTransformationSequence=[_dataset(RescaleSlope=2, RescaleIntercept=-5)])]
    ds.PerFrameFunctionalGroupsSequence = [
        _dataset(PlanePositionSequence=[_dataset(ImagePositionPatient=[0.0, 0.0, 3.0 * k])]) for k in frame_order]
    ds.save_as(tmp_path / "enhanced.dcm", enforce_file_format=True)
    img = read(tmp_path / "enhanced.dcm")
    assert img.axes == "ZYX" and img.spacing == (3.0, 0.5, 0.5)
    assert img.dtype == np.int16  # integral slope/intercept and the result fits
    for k in range(3):
        np.testing.assert_array_equal(img.data[k], planes[k] * 2 - 5)
    assert img.metadata["n_frames"] == 3 and img.metadata["orientation"] == "LPS"


def test_dicom_folder_series_sorted_by_position(tmp_path):
    planes = _mr_series(tmp_path, n=4, step=2.5, order=[2, 0, 3, 1])
    img = read(tmp_path)
    assert img.axes == "ZYX" and img.shape == (4, 64, 64)
    assert img.spacing == (2.5, 0.3125, 0.3125) and img.unit == "millimeter"
    for k in range(4):
        np.testing.assert_array_equal(img.data[k], planes[k])
    meta = img.metadata
    assert meta["n_files"] == 4 and meta["uniform_spacing"]
    assert meta["slice_positions"] == pytest.approx([6.6406 + 2.5 * k for k in range(4)])
    # the DICOM geometry becomes a NIfTI affine: LPS -> RAS flips x and y
    np.testing.assert_allclose(np.array(meta["affine"])[:3, 3], [83.9063, 91.2, 6.6406])
    back = read(write(tmp_path.parent / "series.nii.gz", img))
    assert back.metadata["orientation"] == meta["orientation"] == "LPS"
    np.testing.assert_allclose(back.metadata["affine"], meta["affine"], atol=1e-4)


def test_dicom_folder_falls_back_to_instance_number(tmp_path):
    tweaks = {k: {"ImagePositionPatient": None, "ImageOrientationPatient": None} for k in range(3)}
    planes = _mr_series(tmp_path, n=3, order=[1, 2, 0], tweaks=tweaks)
    img = read(tmp_path)
    for k in range(3):
        np.testing.assert_array_equal(img.data[k], planes[k])
    assert img.spacing[0] == pytest.approx(0.8)  # SliceThickness, no positions to measure


def test_dicom_folder_with_rescale_becomes_float32(tmp_path):
    _mr_series(tmp_path, n=2, tweaks={k: {"RescaleSlope": 0.5, "RescaleIntercept": 1} for k in range(2)})
    img = read(tmp_path)
    assert img.dtype == np.float32


def test_dicom_folder_picks_series(tmp_path):
    _mr_series(tmp_path, n=2)
    other = tmp_path / "b"
    other.mkdir()
    _mr_series(other, n=3, tweaks={k: {"SeriesNumber": 7} for k in range(3)})
    for f in other.iterdir():
        f.rename(tmp_path / f"B{f.name}")
    other.rmdir()
    assert read(tmp_path).shape[0] == 2
    assert read(tmp_path, series=1).shape[0] == 3
    assert read(tmp_path).metadata["n_series"] == 2


def test_dicom_folder_skips_non_image_objects(tmp_path):
    _mr_series(tmp_path, n=2)
    (tmp_path / "report.dcm").write_bytes(Path(get_testdata_file("test-SR.dcm")).read_bytes())
    img = read(tmp_path)
    assert img.shape == (2, 64, 64) and img.metadata["n_files"] == 2


def test_dicom_nonuniform_spacing_warns(tmp_path):
    _mr_series(tmp_path, n=3, tweaks={2: {"ImagePositionPatient": [-83.9063, -91.2, 6.6406 + 9.0]}})
    with pytest.warns(UserWarning, match="not uniform"):
        img = read(tmp_path)
    assert img.metadata["uniform_spacing"] is False
