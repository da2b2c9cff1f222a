"""bioimg.io: OME-Zarr / plain zarr reading and writing."""
import json

import dask.array as da
import numpy as np
import pytest
import zarr

from bioimg.io import Image, ImageReadError, ImageWriteError, read, write


def _ramp(shape, dtype=np.uint16):
    return (np.arange(int(np.prod(shape))) % 1000).astype(dtype).reshape(shape)


@pytest.mark.parametrize("shape, axes, spacing", [
    ((40, 300), "YX", (0.5, 0.25)),
    ((5, 40, 300), "ZYX", (2.0, 0.5, 0.5)),
    ((2, 3, 20, 30), "CZYX", (1.5, 0.3, 0.3)),
    ((2, 2, 3, 20, 30), "TCZYX", (1.5, 0.3, 0.3)),
])
@pytest.mark.parametrize("suffix", [".ome.zarr", ".zarr"])
def test_round_trip(tmp_path, shape, axes, spacing, suffix):
    x = _ramp(shape)
    out = write(tmp_path / f"img{suffix}", Image(x, axes, spacing, "micrometer"))
    assert out.is_dir()
    img = read(out)
    assert isinstance(img.data, da.Array)
    assert img.axes == axes and img.spacing == spacing and img.unit == "micrometer"
    assert img.name == "img" and img.metadata["format"] == "ome-zarr"
    np.testing.assert_array_equal(img.data.compute(), x)
    assert img.dtype == x.dtype
    # No temporary siblings left behind.
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_ngff_metadata_and_chunks(tmp_path):
    out = write(tmp_path / "a.ome.zarr", Image(_ramp((3, 300, 520)), "ZYX", (2, 0.5, 0.5), "um"))
    attrs = json.loads((out / "zarr.json").read_text())["attributes"]["ome"]
    assert attrs["version"] == "0.5"
    ms = attrs["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["z", "y", "x"]
    assert all(a["type"] == "space" and a["unit"] == "micrometer" for a in ms["axes"])
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.0, 0.5, 0.5]
    arr = zarr.open_array(out / "0", mode="r")
    assert arr.chunks == (1, 256, 256)
    assert tuple(arr.metadata.dimension_names) == ("z", "y", "x")


def test_pixel_unit_and_overwrite(tmp_path):
    path = tmp_path / "p.ome.zarr"
    write(path, np.ones((4, 5), np.float32))
    write(path, np.zeros((6, 7, 8), np.uint8))  # replaces the old store
    img = read(path)
    assert img.axes == "ZYX" and img.unit == "pixel" and img.spacing == (1.0, 1.0, 1.0)
    assert img.shape == (6, 7, 8) and img.dtype == np.uint8
    assert len(list(tmp_path.iterdir())) == 1


def test_write_from_dask_stays_lazy_until_stored(tmp_path):
    x = _ramp((6, 300, 270), np.float32)
    lazy = da.from_array(x, chunks=(2, 100, 100))  # not aligned with 1x256x256: rechunked
    out = write(tmp_path / "d.ome.zarr", lazy, spacing=(3.0, 1.0, 1.0), unit="micrometer")
    np.testing.assert_array_equal(read(out).data.compute(), x)
    aligned = da.from_array(x, chunks=(3, 256, 256)) * 2
    out = write(tmp_path / "e.ome.zarr", Image(aligned, "ZYX", (1, 1, 1)))
    np.testing.assert_array_equal(read(out).data.compute(), x * 2)


def test_rgb_written_channel_first(tmp_path):
    x = _ramp((20, 30, 3), np.uint8)
    img = read(write(tmp_path / "rgb.ome.zarr", Image(x, "YXC", (1, 1))))
    assert img.axes == "CYX"
    np.testing.assert_array_equal(img.data.compute(), np.moveaxis(x, -1, 0))


def test_read_ngff_v04_zarr_v2(tmp_path):
    path = tmp_path / "v04.ome.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=2)
    arr = group.create_array("s0", shape=(2, 10, 12), dtype=">u2", chunks=(1, 10, 12))
    arr[:] = _ramp((2, 10, 12))
    group.attrs["multiscales"] = [{
        "version": "0.4",
        "axes": [{"name": "z", "type": "space", "unit": "micrometer"},
                 {"name": "y", "type": "space", "unit": "nanometer"},
                 {"name": "x", "type": "space", "unit": "nanometer"}],
        "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 200.0, 100.0]}]}],
        "coordinateTransformations": [{"type": "scale", "scale": [2.0, 1.0, 1.0]}],
    }]
    img = read(path)
    assert img.axes == "ZYX" and img.unit == "micrometer" and img.metadata["ngff_version"] == "0.4"
    assert img.spacing == pytest.approx((2.0, 0.2, 0.1))
    assert img.dtype.isnative
    np.testing.assert_array_equal(img.data.compute(), _ramp((2, 10, 12)))


def test_plain_zarr_array(tmp_path):
    path = tmp_path / "plain.zarr"
    zarr.create_array(path, shape=(3, 8, 9), dtype="int16", chunks=(1, 8, 9))[:] = 7
    img = read(path)
    assert img.axes == "ZYX" and img.spacing == (1.0, 1.0, 1.0) and img.unit == "pixel"
    assert img.metadata["format"] == "zarr" and int(img.data.sum().compute()) == 7 * 3 * 8 * 9
    path4 = tmp_path / "plain4.zarr"
    zarr.create_array(path4, shape=(2, 3, 8, 9), dtype="int16", chunks=(1, 1, 8, 9))
    with pytest.raises(ImageReadError, match="plain4.zarr"):
        read(path4)


def _group(path, attrs):
    group = zarr.open_group(path, mode="w")
    group.create_array("0", shape=(4, 5), dtype="uint8", chunks=(4, 5))
    group.attrs.update(attrs)
    return path


@pytest.mark.parametrize("attrs, reason", [
    ({}, "multiscales"),
    ({"ome": {"version": "0.5", "multiscales": []}}, "invalid OME-NGFF"),
    ({"ome": {"version": "0.5", "multiscales": [{"axes": [{"name": "y"}, {"name": "q"}],
                                                 "datasets": [{"path": "0"}]}]}}, "'q'"),
    ({"ome": {"version": "0.5", "multiscales": [{"axes": [{"name": "y"}, {"name": "x"}],
                                                 "datasets": [{"path": "missing"}]}]}}, "invalid"),
    ({"ome": {"version": "0.5", "multiscales": [{"axes": ["z", "y", "x"],
                                                 "datasets": [{"path": "0"}]}]}}, "do not match"),
    ({"ome": {"version": "0.5", "multiscales": [{"axes": ["y", "x"], "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0]}]}]}]}}, "scale"),
])
def test_invalid_metadata(tmp_path, attrs, reason):
    path = _group(tmp_path / "bad.ome.zarr", attrs)
    with pytest.raises(ImageReadError, match=reason) as info:
        read(path)
    assert info.value.path == str(path)


def test_missing_and_non_zarr(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read(tmp_path / "nothing.ome.zarr")
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    with pytest.raises(ImageReadError, match="empty.zarr"):
        read(empty)
    afile = tmp_path / "file.zarr"
    afile.write_bytes(b"xx")
    with pytest.raises(ImageReadError, match="file.zarr"):
        read(afile)
    with pytest.raises(ImageWriteError, match="file.zarr"):
        write(afile, np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageWriteError, match="does not exist"):
        write(tmp_path / "no" / "x.ome.zarr", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageWriteError, match="complex"):
        write(tmp_path / "c.ome.zarr", np.zeros((4, 4), np.complex64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.zarr", "file.zarr"]


def test_read_lazy_accepts_ome_zarr(tmp_path):
    import dask.array as da
    import numpy as np

    from bioimg.io import Image, write
    from bioimg.scale import read_lazy

    arr = np.arange(2 * 32 * 32, dtype=np.uint16).reshape(2, 32, 32)
    path = write(tmp_path / "s.ome.zarr", Image(arr, "ZYX", (2.0, 0.5, 0.5), "micrometer"))
    img = read_lazy(path)
    assert isinstance(img.data, da.Array) and img.spacing == (2.0, 0.5, 0.5)
    np.testing.assert_array_equal(img.data.compute(), arr)
