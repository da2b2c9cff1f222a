"""bioimg.io: reading and writing TIFF, OME-TIFF, NIfTI, DICOM with voxel size."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from pydicom.data import get_testdata_file

from bioimg.io import Image, ImageReadError, ImageWriteError, read, write
from bioimg.io import _tiff

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
RNG = np.random.default_rng(0)


def _spacing_for(axes: str) -> tuple[float, ...]:
    table = {"Z": 0.29, "Y": 0.26, "X": 0.13}
    return tuple(table[a] for a in axes if a in "ZYX")


def _random(shape, dtype) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


# --------------------------------------------------------------- Image record

def test_image_properties_and_with_data():
    img = Image(np.zeros((2, 3, 4, 5), np.uint16), "CZYX", (2.0, 0.5, 0.25), "micrometer", "x", {"k": [1]})
    assert img.spatial_axes == "ZYX" and img.ndim_spatial == 3
    assert img.scale == (1.0, 2.0, 0.5, 0.25)
    assert img.shape == (2, 3, 4, 5) and img.dtype == np.uint16
    other = img.with_data(np.ones((4, 5), np.float32), axes="YX", spacing=(0.5, 0.25))
    assert other.axes == "YX" and other.unit == "micrometer" and other.name == "x"
    other.metadata["new"] = 1
    assert "new" not in img.metadata
    assert "CZYX" in repr(img) and "ndarray" in repr(img)


@pytest.mark.parametrize("axes, spacing", [("ZYX", (1.0, 1.0)), ("ZYXQ", (1, 1, 1)), ("ZZX", (1, 1, 1)),
                                           ("CZY", (1, 1)), ("ZYX", (1.0, 0.0, 1.0)), ("ZYX", (1, np.nan, 1))])
def test_image_rejects_inconsistent_fields(axes, spacing):
    with pytest.raises(ValueError):
        Image(np.zeros((2, 3, 4)), axes, spacing)


def test_image_normalises_axes_and_spacing():
    img = Image(np.zeros((3, 4)), "yx", [1, 2])
    assert img.axes == "YX" and img.spacing == (1.0, 2.0)


# ------------------------------------------------------------ TIFF round trip

ROUND_TRIPS = [
    ("YX", (5, 6), np.uint16), ("ZYX", (3, 5, 6), np.float32), ("CZYX", (2, 3, 5, 6), np.uint16),
    ("TCZYX", (2, 2, 3, 5, 6), np.uint8), ("YXC", (5, 6, 3), np.uint8), ("ZYXC", (2, 5, 6, 4), np.uint16),
    ("ZYX", (3, 5, 6), np.int32), ("ZYX", (3, 5, 6), np.float64), ("TYX", (4, 5, 6), np.int16),
    ("CYX", (1, 5, 6), np.uint16), ("CZYX", (3, 1, 5, 6), np.uint8), ("ZYX", (2, 4, 4), np.uint32),
]


@pytest.mark.parametrize("axes, shape, dtype", ROUND_TRIPS)
@pytest.mark.parametrize("suffix", [".tif", ".ome.tif"])
def test_tiff_round_trip(tmp_path, axes, shape, dtype, suffix):
    data = _random(shape, dtype)
    spacing = _spacing_for(axes)
    if suffix == ".ome.tif" and 1 in shape:
        pytest.skip("OME-TIFF readers drop singleton axes")
    out = write(tmp_path / f"img{suffix}", Image(data, axes, spacing, "micrometer"))
    assert out == tmp_path / f"img{suffix}"
    back = read(out)
    assert back.axes == axes
    assert back.dtype == data.dtype
    np.testing.assert_array_equal(np.asarray(back.data), data)
    assert back.spacing == pytest.approx(spacing, rel=1e-9)
    assert back.unit == "micrometer"
    assert back.name == "img"
    json.dumps(back.metadata)  # metadata stays JSON-compatible (model files, no pickle)


@pytest.mark.parametrize("suffix", [".tif", ".ome.tif"])
def test_tiff_time_step_round_trip(tmp_path, suffix):
    img = Image(np.zeros((3, 2, 4, 5), np.uint16), "TZYX", (1, 0.5, 0.5), "micrometer", metadata={"time_step": 2.5})
    back = read(write(tmp_path / f"t{suffix}", img))
    assert back.metadata["time_step"] == 2.5 and back.metadata["time_unit"] == "s"


def test_tiff_write_picks_imagej_when_possible(tmp_path):
    write(tmp_path / "a.tif", Image(np.zeros((2, 3, 4, 5), np.uint16), "CZYX", (1.0, 0.5, 0.5), "micrometer"))
    write(tmp_path / "b.tif", Image(np.zeros((3, 4, 5), np.int32), "ZYX", (1.0, 0.5, 0.5), "millimeter"))
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert tif.is_imagej and tif.imagej_metadata["unit"] == "micron"
        assert tif.series[0].axes == "ZCYX"  # ImageJ's own order, so Fiji shows channels and slices
    assert read(tmp_path / "a.tif").metadata["format"] == "imagej-tiff"
    b = read(tmp_path / "b.tif")
    assert b.metadata["format"] == "tiff" and b.unit == "millimeter" and b.spacing == (1.0, 0.5, 0.5)
    with tifffile.TiffFile(tmp_path / "b.tif") as tif:  # resolution tags too, in pixels per cm
        assert tif.pages[0].resolutionunit == 3
        assert tif.pages[0].resolution[0] == pytest.approx(1 / 0.05)


def test_channel_last_non_rgb_is_stored_channel_first(tmp_path):
    data = _random((4, 5, 2), np.uint16)
    back = read(write(tmp_path / "c.tif", Image(data, "YXC", (1.0, 1.0))))
    assert back.axes == "CYX"
    np.testing.assert_array_equal(back.data, np.moveaxis(data, -1, 0))


def test_read_imagej_hyperstack_written_by_tifffile(tmp_path):
    data = _random((3, 2, 4, 5), np.uint16)  # ZCYX as ImageJ stores it
    tifffile.imwrite(tmp_path / "ij.tif", data, imagej=True, resolution=(1 / 0.2, 1 / 0.2),
                     metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "\\u00B5m", "finterval": 0.5})
    img = read(tmp_path / "ij.tif")
    assert img.axes == "CZYX" and img.spacing == pytest.approx((1.5, 0.2, 0.2))
    assert img.unit == "micrometer" and img.metadata["format"] == "imagej-tiff"
    np.testing.assert_array_equal(img.data, data.transpose(1, 0, 2, 3))


def test_read_ome_with_mixed_units(tmp_path):
    data = _random((2, 3, 4, 5), np.uint8)
    tifffile.imwrite(tmp_path / "o.ome.tif", data, ome=True, photometric="minisblack",
                     metadata={"axes": "TZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1,
                               "PhysicalSizeZ": 500.0, "PhysicalSizeZUnit": "nm"})
    img = read(tmp_path / "o.ome.tif")
    assert img.axes == "TZYX" and img.unit == "micrometer"  # OME default unit
    assert img.spacing == pytest.approx((0.5, 0.1, 0.1))
    assert img.metadata["format"] == "ome-tiff" and img.metadata["ome"]["DimensionOrder"]


def test_plain_multipage_tiff_is_a_z_stack(tmp_path):
    data = _random((5, 4, 6), np.uint16)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tw:
        for plane in data:  # separate pages, no shape metadata at all
            tw.write(plane, photometric="minisblack", metadata=None)
    img = read(tmp_path / "pages.tif")
    assert img.axes == "ZYX" and img.spacing == (1.0, 1.0, 1.0) and img.unit == "pixel"
    np.testing.assert_array_equal(img.data, data)


def test_unlabelled_4d_tiff_is_czyx_and_resolution_cm_is_read(tmp_path):
    data = _random((2, 3, 4, 5), np.uint16)
    tifffile.imwrite(tmp_path / "q.tif", data, photometric="minisblack", resolution=(1e4 / 0.5, 1e4 / 0.5),
                     resolutionunit="CENTIMETER", metadata={})
    img = read(tmp_path / "q.tif")
    assert img.axes == "CZYX" and img.unit == "micrometer"
    assert img.spacing == pytest.approx((1.0, 0.5, 0.5))


def test_multi_series_tiff(tmp_path):
    with tifffile.TiffWriter(tmp_path / "multi.tif") as tw:
        tw.write(np.zeros((4, 5), np.uint8), metadata={"axes": "YX"})
        tw.write(np.ones((2, 3, 3), np.uint16), photometric="minisblack", metadata={"axes": "ZYX"})
    assert read(tmp_path / "multi.tif").shape == (4, 5)
    second = read(tmp_path / "multi.tif", series=1)
    assert second.axes == "ZYX" and second.metadata["n_series"] == 2
    with pytest.raises(ImageReadError, match="series 2"):
        read(tmp_path / "multi.tif", series=2)


# ----------------------------------------------------------------- memmap

def test_large_uncompressed_tiff_is_memory_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr(_tiff, "MEMMAP_MIN_BYTES", 0)
    data = _random((3, 2, 8, 8), np.uint16)
    path = write(tmp_path / "big.tif", Image(data, "CZYX", (1.0, 1.0, 1.0)))
    img = read(path)
    assert isinstance(img.data, np.memmap) or isinstance(img.data.base, np.memmap)
    np.testing.assert_array_equal(img.data, data)
    before = path.read_bytes()
    img.data[...] = 0  # copy-on-write: the file on disk is never modified
    assert path.read_bytes() == before
    compressed = read(write(tmp_path / "z.tif", Image(data, "CZYX", (1.0, 1.0, 1.0)), compression="zlib"))
    assert not isinstance(compressed.data, np.memmap)
    np.testing.assert_array_equal(compressed.data, data)


def test_small_tiff_is_read_into_memory(tmp_path):
    img = read(write(tmp_path / "s.tif", np.zeros((4, 4), np.uint8)))
    assert type(img.data) is np.ndarray and img.data.flags.writeable


# ----------------------------------------------------------- TIFF folders

def test_folder_of_slices_natural_order(tmp_path):
    for i in (1, 2, 10):  # lexical order would put 10 before 2
        tifffile.imwrite(tmp_path / f"slice_{i}.tif", np.full((4, 5), i, np.uint16))
    (tmp_path / "notes.txt").write_text("ignored")
    img = read(tmp_path)
    assert img.axes == "ZYX" and img.shape == (3, 4, 5) and img.name == tmp_path.name
    assert [int(img.data[z, 0, 0]) for z in range(3)] == [1, 2, 10]
    assert img.metadata["files"] == ["slice_1.tif", "slice_2.tif", "slice_10.tif"]


def test_folder_of_rgb_slices_keeps_spacing(tmp_path):
    for i in range(3):
        write(tmp_path / f"s{i}.tif", Image(np.full((4, 5, 3), i, np.uint8), "YXC", (0.5, 0.5), "micrometer"))
    img = read(tmp_path)
    assert img.axes == "ZYXC" and img.spacing == (1.0, 0.5, 0.5) and img.unit == "micrometer"


@pytest.mark.parametrize("bad", [np.zeros((4, 6), np.uint16), np.zeros((4, 5), np.uint8)])
def test_folder_slices_must_agree(tmp_path, bad):
    tifffile.imwrite(tmp_path / "a1.tif", np.zeros((4, 5), np.uint16))
    tifffile.imwrite(tmp_path / "a2.tif", bad)
    with pytest.raises(ImageReadError, match="a2.tif"):
        read(tmp_path)


# ----------------------------------------------------------------- labels

@pytest.mark.parametrize("values, expected", [
    ([0, 1, 255], np.uint8), ([0, 256], np.uint16), ([0, 70000], np.uint32),
    ([-1, 5], np.int8), ([-300, 5], np.int16), ([0, 2**40], np.int64),
])
@pytest.mark.parametrize("suffix", [".tif", ".nii.gz"])
def test_int64_labels_shrink_without_losing_values(tmp_path, values, expected, suffix):
    labels = np.zeros((2, 3, 4), np.int64)
    labels.flat[: len(values)] = values
    back = read(write(tmp_path / f"lab{suffix}", labels))
    assert back.dtype == expected
    np.testing.assert_array_equal(back.data, labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int32])
def test_label_dtypes_are_kept(tmp_path, dtype):
    labels = _random((2, 5, 5), dtype)
    for suffix in (".tif", ".ome.tif", ".nii"):
        back = read(write(tmp_path / f"l{suffix}", labels))
        assert back.dtype == dtype
        np.testing.assert_array_equal(back.data, labels)


def test_bool_is_written_as_uint8(tmp_path):
    back = read(write(tmp_path / "mask.tif", np.eye(4, dtype=bool)))
    assert back.dtype == np.uint8 and back.data.sum() == 4


def test_write_overrides_and_array_defaults(tmp_path):
    back = read(write(tmp_path / "a.tif", np.zeros((2, 3, 4), np.float32), spacing=2.0, unit="um"))
    assert back.axes == "ZYX" and back.spacing == (2.0, 2.0, 2.0) and back.unit == "micrometer"
    assert back.dtype == np.float32
    img = Image(np.zeros((2, 3, 4), np.uint8), "ZYX", (1, 1, 1))
    back = read(write(tmp_path / "b.tif", img, axes="CYX", spacing=(0.5, 0.5), unit="nm"))
    assert back.axes == "CYX" and back.spacing == (0.5, 0.5) and back.unit == "nanometer"


# ---------------------------------------------------------------- atomicity

def test_write_replaces_atomically_and_cleans_up_on_error(tmp_path):
    target = write(tmp_path / "a.tif", np.ones((4, 4), np.uint8))
    before = target.read_bytes()
    with pytest.raises(ImageWriteError, match="a.tif"):
        write(target, np.zeros((4, 4), np.uint8), compression="no-such-codec")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]
    write(target, np.full((4, 4), 7, np.uint8))
    assert read(target).data[0, 0] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


def test_failed_nifti_write_leaves_nothing(tmp_path):
    with pytest.raises(ImageWriteError, match="NIfTI output supports"):
        write(tmp_path / "x.nii.gz", Image(np.zeros((2, 3, 4), np.uint8), "CYX", (1, 1)))
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------- NIfTI

def test_read_nifti_sample():
    img = read(SAMPLES / "mri_epi_aniso.nii.gz")
    assert img.axes == "ZYX" and img.shape == (24, 58, 58) and img.dtype == np.int16
    assert img.spacing == (5.0, 4.0, 4.0) and img.unit == "millimeter"
    meta = img.metadata
    assert meta["format"] == "nifti" and meta["orientation"] == "LPS"
    ref = nib.load(SAMPLES / "mri_epi_aniso.nii.gz")
    np.testing.assert_allclose(meta["affine"], ref.affine)
    np.testing.assert_array_equal(img.data, np.asanyarray(ref.dataobj).T)
    assert img.data.flags.c_contiguous  # the transpose of Fortran-ordered NIfTI data costs nothing


def test_nifti_axes_convention(tmp_path):
    xyz = _random((4, 5, 6), np.int16)  # nibabel order: x=4, y=5, z=6
    nib.save(nib.Nifti1Image(xyz, np.diag([0.5, 0.7, 2.0, 1.0])), tmp_path / "n.nii")
    img = read(tmp_path / "n.nii")
    assert img.axes == "ZYX" and img.shape == (6, 5, 4)
    assert img.spacing == (2.0, 0.7, 0.5)
    assert img.data[3, 2, 1] == xyz[1, 2, 3]


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_round_trip_is_exact(tmp_path, suffix):
    src = read(SAMPLES / "mri_epi_aniso.nii.gz")
    back = read(write(tmp_path / f"copy{suffix}", src))
    np.testing.assert_array_equal(back.data, src.data)
    assert back.dtype == src.dtype and back.axes == src.axes and back.spacing == src.spacing
    assert back.metadata["affine"] == src.metadata["affine"]
    assert back.metadata["orientation"] == "LPS"
    assert nib.load(tmp_path / f"copy{suffix}").header["sform_code"] == src.metadata["sform_code"]


def test_nifti_4d_and_2d(tmp_path):
    data = _random((3, 4, 5, 6), np.float32)
    img = Image(data, "TZYX", (2.0, 1.5, 1.0), "millimeter", metadata={"time_step": 2.5})
    back = read(write(tmp_path / "t.nii.gz", img))
    assert back.axes == "TZYX" and back.spacing == (2.0, 1.5, 1.0) and back.metadata["time_step"] == 2.5
    np.testing.assert_array_equal(back.data, data)
    assert nib.load(tmp_path / "t.nii.gz").shape == (6, 5, 4, 3)
    flat = read(write(tmp_path / "f.nii", Image(data[0, 0], "YX", (0.3, 0.2), "millimeter")))
    assert flat.axes == "YX" and flat.spacing == (0.3, 0.2)
    np.testing.assert_array_equal(flat.data, data[0, 0])


def test_nifti_resampled_spacing_rescales_affine(tmp_path):
    src = read(SAMPLES / "mri_epi_aniso.nii.gz")
    half = src.with_data(src.data[::2], spacing=(10.0, 4.0, 4.0))
    back = read(write(tmp_path / "half.nii.gz", half))
    old, new = np.array(src.metadata["affine"]), np.array(back.metadata["affine"])
    np.testing.assert_allclose(new[:, 2], old[:, 2] * [2, 2, 2, 1], rtol=1e-6)  # z column doubled
    np.testing.assert_allclose(new[:, :2], old[:, :2], rtol=1e-6)
    assert back.spacing == (10.0, 4.0, 4.0) and back.metadata["orientation"] == "LPS"


def test_nifti_scaled_data_is_float32(tmp_path):
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    img.header.set_slope_inter(0.5, 10)
    nib.save(img, tmp_path / "s.nii")
    back = read(tmp_path / "s.nii")
    assert back.dtype == np.float32
    np.testing.assert_allclose(back.data, np.arange(24).reshape(2, 3, 4).T * 0.5 + 10)


def test_nifti_micrometer_units(tmp_path):
    back = read(write(tmp_path / "u.nii", Image(np.zeros((2, 3, 4), np.uint8), "ZYX", (0.29, 0.26, 0.26),
                                                "micrometer")))
    assert back.unit == "micrometer" and back.spacing == (0.29, 0.26, 0.26)


# -------------------------------------------------------------- sample data

def test_sample_data_reads_as_documented():
    img = read(SAMPLES / "nuclei3d_image.tif")
    labels = read(SAMPLES / "nuclei3d_pseudo_labels.tif")
    assert img.axes == labels.axes == "ZYX" and img.shape == labels.shape == (32, 128, 128)
    assert img.spacing == labels.spacing == (0.29, 0.26, 0.26) and img.unit == "micrometer"
    assert img.dtype == labels.dtype == np.uint16
    nuclei = read(SAMPLES / "nuclei2d_image.tif")
    nuclei_labels = read(SAMPLES / "nuclei2d_labels.tif")
    assert nuclei.shape == nuclei_labels.shape == (512, 256) and nuclei.axes == "YX"
    assert int(nuclei_labels.data.max()) == 73
    for path in SAMPLES.iterdir():
        if path.suffix != ".md":
            assert path.stat().st_size < 1.5e6, path


def test_reading_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read(SAMPLES / "mri_epi_aniso.nii.gz")
        read(SAMPLES / "nuclei3d_image.tif")
        read(get_testdata_file("MR_small.dcm"))
