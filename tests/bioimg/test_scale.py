"""bioimg.scale: lazy reading and chunk-wise preprocessing equal the in-memory functions."""
import tracemalloc

import dask.array as da
import numpy as np
import pytest
import tifffile

from bioimg.io import read
from bioimg.preprocess import anisotropic_diffusion, normalize_percentile
from bioimg.preprocess._percentile import percentiles
from bioimg.scale import diffuse_chunked, normalize_percentile_chunked, percentiles_chunked, read_lazy


def _noisy(shape, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros(shape, np.float32)
    img[..., shape[-1] // 2:] = 100  # an edge, so the conductance matters
    return img + rng.normal(0, 10, shape).astype(np.float32)


@pytest.mark.parametrize("shape, chunks, spacing", [
    ((60, 53), 7, None),  # chunks thinner than the halo (niter)
    ((60, 53), (25, 30), (1.0, 1.5)),
    ((60, 53), 64, None),  # one chunk
    ((14, 30, 31), (5, 8, 9), (2.0, 1.0, 1.0)),
    ((14, 30, 31), (7, 16, 16), None),
])
@pytest.mark.parametrize("option", [1, 2])
@pytest.mark.parametrize("niter", [4, 10])
def test_diffuse_chunked_equals_in_memory(shape, chunks, spacing, option, niter):
    img = _noisy(shape)
    ref = anisotropic_diffusion(img, niter, 20, 0.1, option, spacing)
    lazy = diffuse_chunked(da.from_array(img, chunks=chunks), niter, 20, 0.1, option, spacing)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    assert lazy.chunks == da.from_array(img, chunks=chunks).chunks
    out = lazy.compute()
    assert out.dtype == np.float32 and out.shape == img.shape
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_diffuse_chunked_halo_matters():
    """Without the halo the chunk borders would be wrong: the test above is meaningful."""
    img = _noisy((40, 40))
    ref = anisotropic_diffusion(img, 5, 20, 0.2)
    naive = da.from_array(img, chunks=10).map_blocks(anisotropic_diffusion, 5, 20, 0.2).compute()
    assert np.abs(naive - ref).max() > 1e-2
    out = diffuse_chunked(da.from_array(img, chunks=10), 5, 20, 0.2).compute()
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_diffuse_chunked_batch_axis_and_integer_input():
    img = np.clip(_noisy((3, 30, 30)), 0, 255).astype(np.uint8)
    ref = anisotropic_diffusion(img, 6, 30, 0.2, axis=0)
    out = diffuse_chunked(da.from_array(img, chunks=(1, 11, 13)), 6, 30, 0.2, axis=0).compute()
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_diffuse_chunked_clips_gamma_like_in_memory():
    img = _noisy((20, 20))
    with pytest.warns(UserWarning, match="stability"):
        lazy = diffuse_chunked(da.from_array(img, chunks=8), 3, 20, 0.5)
    with pytest.warns(UserWarning, match="stability"):
        ref = anisotropic_diffusion(img, 3, 20, 0.5)
    assert np.abs(lazy.compute() - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.bool_])
def test_percentiles_chunked_exact(dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(np.int16 if dtype in (np.int32, np.bool_) else dtype)
    x = rng.integers(info.min, int(info.max) + 1, (23, 41, 37)).astype(dtype)
    if dtype == np.bool_:
        x = rng.random((23, 41, 37)) > 0.7
    q = (0, 1, 2.5, 50, 99.8, 100)
    got = percentiles_chunked(da.from_array(x, chunks=(7, 16, 10)), q)
    ref = x.astype(np.uint8) if dtype == np.bool_ else x  # np.percentile refuses bool
    assert got == tuple(float(np.percentile(ref, p)) for p in q)
    assert list(got) == percentiles(x, q)


def test_percentiles_chunked_float_fallback_exact():
    x = _noisy((30, 31))
    x[3, 4] = np.nan  # ignored, as normalize_percentile does
    got = percentiles_chunked(da.from_array(x, chunks=9), (1, 99.8))
    assert got == (float(np.nanpercentile(x, 1)), float(np.nanpercentile(x, 99.8)))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("clip", [False, True])
def test_normalize_percentile_chunked_equals_in_memory(dtype, clip):
    x = np.abs(_noisy((12, 33, 35), seed=5) * 50).astype(dtype)
    ref, ref_params = normalize_percentile(x, 2, 99.5, clip=clip)
    out, params = normalize_percentile_chunked(da.from_array(x, chunks=(5, 10, 12)), 2, 99.5, clip=clip)
    assert isinstance(out, da.Array) and out.dtype == np.float32
    assert params == ref_params
    np.testing.assert_array_equal(out.compute(), ref)


@pytest.mark.parametrize("kwargs, axes", [
    ({"imagej": True, "metadata": {"axes": "ZYX", "spacing": 2.5, "unit": "um"},
      "resolution": (2.0, 2.0)}, "ZYX"),
    ({"metadata": {"axes": "ZYX", "PhysicalSizeZ": 3.0, "PhysicalSizeY": 0.5, "PhysicalSizeX": 0.5},
      "compression": "zlib"}, "ZYX"),
])
def test_read_lazy_tiff_matches_read(tmp_path, kwargs, axes):
    data = np.random.default_rng(0).integers(0, 4000, (6, 40, 50)).astype(np.uint16)
    path = tmp_path / ("a.ome.tif" if "PhysicalSizeZ" in kwargs["metadata"] else "a.tif")
    tifffile.imwrite(path, data, **kwargs)
    ref, img = read(path), read_lazy(path)
    assert isinstance(img.data, da.Array)
    assert (img.shape, img.axes, img.spacing, img.unit, img.name) == \
        (ref.shape, ref.axes, ref.spacing, ref.unit, ref.name)
    assert img.axes == axes and img.metadata == ref.metadata
    np.testing.assert_array_equal(img.data.compute(), ref.data)


def test_read_lazy_other_format_wraps_read(tmp_path):
    nib = pytest.importorskip("nibabel")
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(6, 5, 4)
    nib.save(nib.Nifti1Image(data, np.diag([0.5, 0.5, 2.0, 1.0])), tmp_path / "v.nii.gz")
    ref, img = read(tmp_path / "v.nii.gz"), read_lazy(tmp_path / "v.nii.gz")
    assert isinstance(img.data, da.Array)
    assert (img.axes, img.spacing, img.unit) == (ref.axes, ref.spacing, ref.unit)
    np.testing.assert_array_equal(img.data.compute(), ref.data)


def test_read_lazy_does_not_load_pixels(tmp_path):
    data = np.random.default_rng(1).integers(0, 60000, (24, 256, 256)).astype(np.uint16)  # 3 MiB
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    tracemalloc.start()
    try:
        img = read_lazy(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < data.nbytes // 4  # metadata and graph only, no pixels
    assert isinstance(img.data, da.Array)
    assert img.data.numblocks[0] == 24 and max(img.data.chunks[0]) == 1  # one page per chunk
    assert img.data.nbytes == data.nbytes
    # a slice computes only its chunk
    np.testing.assert_array_equal(img.data[5].compute(), data[5])
    np.testing.assert_array_equal(img.data.compute(), data)


def test_io_read_lazy_flag(tmp_path):
    import dask.array as da
    import numpy as np
    import tifffile

    from bioimg.io import read

    arr = np.arange(4 * 16 * 16, dtype=np.uint16).reshape(4, 16, 16)
    tifffile.imwrite(tmp_path / "s.tif", arr, imagej=True, resolution=(2, 2), metadata={"spacing": 3.0, "unit": "um"})
    eager, lazy = read(tmp_path / "s.tif"), read(tmp_path / "s.tif", lazy=True)
    assert isinstance(lazy.data, da.Array) and lazy.axes == eager.axes and lazy.spacing == eager.spacing
    np.testing.assert_array_equal(lazy.data.compute(), eager.data)


def _open_paths(name: str) -> list[str]:
    import os

    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor is already gone
            pass
    return [p for p in paths if p.endswith(name)]


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_lazy_tiff_file_closed_when_arrays_are_gone(tmp_path):
    """The store keeps the file open while any derived array lives, then closes it."""
    import gc
    import warnings

    tifffile.imwrite(tmp_path / "h.tif", np.ones((4, 16, 16), np.uint16), photometric="minisblack")
    img = read(tmp_path / "h.tif", lazy=True)
    part = img.data[1:3]
    assert int(part.sum().compute()) == 2 * 16 * 16
    assert "dask.Array" in repr(img)
    assert _open_paths("h.tif")
    del img
    gc.collect()
    assert int(part.sum().compute()) == 2 * 16 * 16  # still readable through the slice
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # closed by us, not by the GC
        del part
        gc.collect()
    assert not _open_paths("h.tif")
