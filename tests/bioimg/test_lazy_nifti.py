"""Lazy NIfTI reads (issue 15): equal to the eager reader, pixels on demand, same hostile-file errors."""
from __future__ import annotations

import gc
import gzip
import itertools
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import dask.array as da
import nibabel as nib
import numpy as np
import pytest
import tifffile

import autograd as torch
from bioimg.cli import main
from bioimg.io import ImageReadError, read
from bioimg.io import _nifti_lazy
from bioimg.modelfile import BioimgModel, ModelInfo, save_model
from bioimg.models import build_model
from bioimg.scale import read_lazy

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _save(path: Path, xyz: np.ndarray, *, dtype=None, scale=None, endian: str = "<") -> Path:
    """``xyz`` (nibabel (x, y, z[, t]) order) saved with an anisotropic affine, optional scaling/byte order."""
    hdr = nib.Nifti1Header(endianness=endian)
    img = nib.Nifti1Image(xyz, np.diag([0.5, 0.6, 0.7, 1.0]), header=hdr)
    img.set_data_dtype(np.dtype(dtype or xyz.dtype))
    if scale:
        img.header.set_slope_inter(*scale)
    img.header.set_xyzt_units("micron", "sec")
    nib.save(img, path)
    return path


CASES = {  # name: (shape (x, y, z[, t]), stored dtype, scl_slope/inter, byte order)
    "3d-int16": ((9, 7, 5), np.int16, None, "<"),
    "3d-uint8-scaled": ((9, 7, 5), np.uint8, (2.5, -3.0), "<"),
    "4d-bigendian-scaled": ((6, 5, 4, 3), np.uint16, (0.5, 10.0), ">"),
    "2d-float64-scaled": ((11, 8), np.float64, (1.5, 0.25), "<"),
}


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_lazy_equals_eager(tmp_path, suffix, case):
    shape, dtype, scale, endian = CASES[case]
    xyz = np.random.default_rng(0).integers(0, 200, shape).astype(dtype)
    path = _save(tmp_path / f"v{suffix}", xyz, scale=scale, endian=endian)
    eager, lazy = read(path), read(path, lazy=True)
    assert isinstance(lazy.data, da.Array)
    assert (lazy.axes, lazy.spacing, lazy.unit, lazy.name) == (eager.axes, eager.spacing, eager.unit, eager.name)
    assert lazy.metadata == eager.metadata
    values = lazy.data.compute()
    assert values.dtype == eager.data.dtype and values.dtype.isnative
    np.testing.assert_array_equal(values, eager.data)
    assert eager.data.dtype == (np.float32 if scale and dtype != np.float64 else dtype)


def test_chunks_whole_planes_along_the_slowest_stored_axis(tmp_path, monkeypatch):
    monkeypatch.setattr(_nifti_lazy, "CHUNK_BYTES", 3 * 8 * 6 * 2)  # three int16 planes of 6 x 8
    v3 = read_lazy(_save(tmp_path / "a.nii", np.zeros((6, 8, 10), np.int16)))
    assert v3.axes == "ZYX" and v3.data.chunks == ((3, 3, 3, 1), (8,), (6,))
    v4 = read_lazy(_save(tmp_path / "b.nii.gz", np.zeros((6, 8, 10, 2), np.int16)))
    assert v4.axes == "TZYX" and v4.data.chunks == ((1, 1), (3, 3, 3, 1), (8,), (6,))


def test_reads_only_the_rows_a_slice_needs(tmp_path, monkeypatch):
    """Opening reads no voxel; a row of tiles (Z range x Y range x all X) reads exactly those rows."""
    xyz = np.random.default_rng(1).integers(0, 999, (32, 24, 10)).astype(np.int16)
    path = _save(tmp_path / "v.nii", xyz)
    counted = []
    real = os.preadv
    monkeypatch.setattr(_nifti_lazy.os, "preadv", lambda fd, bufs, off: counted.append(real(fd, bufs, off))
                        or counted[-1])
    img = read_lazy(path)
    assert counted == []
    block = img.data[2:6, 5:9].compute(scheduler="synchronous")
    np.testing.assert_array_equal(block, xyz.T[2:6, 5:9])
    assert sum(counted) == 4 * 4 * 32 * 2  # 4 planes x 4 rows x 32 int16 columns


@pytest.mark.parametrize("positional", [True, False], ids=["preadv", "seek-read"])
def test_any_index_equals_numpy(tmp_path, monkeypatch, positional):
    if not positional:  # the fallback where os.preadv does not exist (Windows)
        monkeypatch.delattr(_nifti_lazy.os, "preadv", raising=False)
    xyz = np.random.default_rng(2).integers(0, 999, (7, 5, 4, 3)).astype(np.int16)
    path = _save(tmp_path / "v.nii", xyz, endian=">")
    img = nib.load(path)
    ref = xyz.T
    fd = os.open(path, os.O_RDONLY)
    vox = _nifti_lazy._Voxels(path, fd, int(img.dataobj.offset), ref.shape, img.header.get_data_dtype(), None)
    options = [slice(None), slice(1, 3), slice(None, None, -1), slice(3, 0, -2), 0, -1, slice(2, 2),
               slice(0, 99, 2)]
    checked = 0
    for key in itertools.product(options, repeat=4):
        try:
            want = ref[key]
        except IndexError:
            continue
        got = vox[key]
        assert got.shape == want.shape and np.array_equal(got, want), key
        checked += 1
    assert checked > 1000
    np.testing.assert_array_equal(vox[..., 1], ref[..., 1])


# --- hostile files: the same one-line error through both doors -------------------------------------------

def _lying(tmp_path: Path, name: str, dims: tuple, gz: bool) -> Path:
    """A valid 16 x 16 x 4 int16 NIfTI whose header then claims ``dims`` (x, y, z[, t])."""
    src = _save(tmp_path / "src.nii", np.random.default_rng(3).integers(0, 4000, (16, 16, 4)).astype(np.int16))
    raw = bytearray(src.read_bytes())
    raw[40:56] = struct.pack("<8h", len(dims), *dims, *[1] * (7 - len(dims)))
    path = tmp_path / name
    path.write_bytes(gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw))
    return path


def _cut(tmp_path: Path, name: str, cut: int) -> Path:
    noise = np.random.default_rng(1).integers(0, 1000, (16, 16, 8), dtype=np.int16)
    path = _save(tmp_path / name, noise)
    data = path.read_bytes()
    path.write_bytes(data[:cut if cut > 0 else len(data) + cut])
    return path


def _bad_crc(tmp_path: Path) -> Path:
    path = _save(tmp_path / "crc.nii.gz", np.arange(4096, dtype=np.int16).reshape(16, 16, 16))
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # CRC32 in the gzip trailer: every byte inflates, the check fails
    path.write_bytes(bytes(data))
    return path


HOSTILE = {
    "huge.nii": lambda t: _lying(t, "huge.nii", (30000, 30000, 3000), False),
    "huge4d.nii": lambda t: _lying(t, "huge4d.nii", (16, 16, 4, 30000), False),
    "huge.nii.gz": lambda t: _lying(t, "huge.nii.gz", (30000, 30000, 3000), True),
    "short.nii.gz": lambda t: _lying(t, "short.nii.gz", (64, 64, 4), True),
    "half.nii": lambda t: _cut(t, "half.nii", 2000),
    "half.nii.gz": lambda t: _cut(t, "half.nii.gz", 1500),
    "trailer.nii.gz": lambda t: _cut(t, "trailer.nii.gz", -6),
    "crc.nii.gz": _bad_crc,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_fails_the_same_lazily(tmp_path, name):
    path = HOSTILE[name](tmp_path)
    with pytest.raises(ImageReadError) as eager:
        read(path)
    with pytest.raises(ImageReadError) as lazy:
        read(path, lazy=True)
    assert str(lazy.value) == str(eager.value)
    assert "\n" not in str(lazy.value) and str(path) in str(lazy.value)


LIMITED = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from bioimg.io import ImageReadError, read
    try:
        print("read", read(sys.argv[1], lazy=True).shape)
    except ImageReadError as exc:
        print("error", exc)
""")


def test_lying_gzip_header_fails_in_bounded_memory(tmp_path):
    """~900 MB promised by a 1 MB stream: under a 1 GiB address space the lazy read says 'truncated'."""
    vol = np.random.default_rng(3).integers(0, 256, (128, 128, 64), dtype=np.uint8)  # incompressible
    src = _save(tmp_path / "src.nii", vol)
    raw = bytearray(src.read_bytes())
    raw[40:56] = struct.pack("<8h", 3, 1024, 1024, 900, 1, 1, 1, 1)
    path = tmp_path / "promise.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw), mtime=0))
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and "file is truncated (voxel data needs" in run.stdout, run.stdout


def test_eager_cap_does_not_apply_to_lazy_reads(tmp_path, monkeypatch):
    from bioimg.io import _limits

    path = _save(tmp_path / "v.nii.gz", np.ones((16, 16, 4), np.int16))
    monkeypatch.setattr(_limits, "FIXED_CAP_BYTES", 1000)
    with pytest.raises(ImageReadError, match="over the limit"):
        read(path)
    assert int(read(path, lazy=True).data.sum().compute()) == 1024


def test_gz_needs_temporary_space(tmp_path, monkeypatch):
    from collections import namedtuple

    path = _save(tmp_path / "v.nii.gz", np.ones((16, 16, 4), np.int16))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_nifti_lazy.shutil, "disk_usage", lambda p: usage(10, 10, 100))
    with pytest.raises(ImageReadError, match=r"has 100 bytes free \(set TMPDIR"):
        read(path, lazy=True)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_file_descriptor_released_with_the_array(tmp_path, suffix):
    path = _save(tmp_path / f"v{suffix}", np.ones((16, 16, 4), np.int16))
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    img = read(path, lazy=True)
    assert len(os.listdir("/proc/self/fd")) == before + 1
    del img
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before


# --- through the user's door ------------------------------------------------------------------------------

def test_predict_streams_a_large_nifti_like_in_memory(tmp_path, monkeypatch, capsys):
    """``bioimg predict`` over the threshold reads the NIfTI lazily; labels/probabilities equal in-memory."""
    from bioimg.io import _nifti

    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 2, "ndim": 3, "depth": 1, "base_width": 4}
    info = ModelInfo(task="segment", architecture="unet", config=cfg, axes="ZYX", patch_size=[8, 32, 32],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["background", "nuclei"], extra={"label_offset": 0})
    model = save_model(BioimgModel(build_model("unet", **cfg), info), tmp_path / "seg3d.bioimg")
    vol = tifffile.imread(SAMPLE / "nuclei3d_image.tif")[:12, :80, :72]
    path = _save(tmp_path / "vol.nii.gz", np.ascontiguousarray(vol.T))
    lazy_calls = []
    real = _nifti.read_nifti
    monkeypatch.setattr(_nifti, "read_nifti", lambda p, lazy=False: lazy_calls.append(lazy) or real(p, lazy=lazy))
    small, big = tmp_path / "small", tmp_path / "big"
    common = ["--model", str(model), "--probabilities", "--tile", "32"]
    assert main(["predict", str(path), "--output", str(small), *common]) == 0
    capsys.readouterr()
    assert lazy_calls == [False]  # small: the header decides, one eager read (no temporary inflation)
    lazy_calls.clear()
    assert main(["predict", str(path), "--output", str(big), *common, "--large-threshold", "0.01"]) == 0
    assert "reading it lazily" in capsys.readouterr().err
    assert lazy_calls == [True]  # never read whole
    ref, lab = read(small / "vol_labels.nii.gz"), read(big / "vol_labels.ome.zarr")
    assert lab.spacing == ref.spacing == (0.7, 0.6, 0.5) and lab.unit == ref.unit == "micrometer"
    np.testing.assert_array_equal(np.asarray(lab.data), ref.data)
    np.testing.assert_allclose(np.asarray(read(big / "vol_probabilities.ome.zarr").data),
                               read(small / "vol_probabilities.nii.gz").data, atol=1e-6)
