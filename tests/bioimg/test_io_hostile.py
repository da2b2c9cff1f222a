"""Hostile image files: declared sizes checked before allocating, no fabricated planes, no hang.

Issue 14's rows for image files: lying OME-XML, NIfTI and DICOM sizes, FIFOs,
links to /dev/zero, the per-array cap, and the CLI's exit 2. Memory-sensitive
reads run in a subprocess under a 2 GiB address-space limit (a regression
fails there instead of eating the machine). The seeded mutation fuzz lives in
``test_io_fuzz.py``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tifffile

from bioimg.cli import main
from bioimg.io import ImageReadError, read

LIMITED = textwrap.dedent("""
    import resource, sys
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from bioimg.io import ImageReadError, read
    try:
        img = read(sys.argv[1])
        print("read", img.shape)
    except ImageReadError as exc:
        assert "\\n" not in str(exc)
        print("error", exc)
""")


@pytest.fixture(scope="module")
def ome6(tmp_path_factory):
    path = tmp_path_factory.mktemp("ome") / "six.ome.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, (6, 48, 48), dtype=np.uint8),
                     ome=True, metadata={"axes": "ZYX"})
    return path


def _lying(ome6, tmp_path, old: str, new: str):
    path = tmp_path / f"lying-{new.split('=')[0]}.ome.tif"
    shutil.copy(ome6, path)
    xml = tifffile.TiffFile(ome6).pages[0].description
    assert old in xml
    tifffile.tiffcomment(path, xml.replace(old, new).encode())
    return path


@pytest.mark.parametrize("old, new, words", [
    ('SizeZ="6"', 'SizeZ="100000"', "declares 100000 or more planes but the file holds 6 pages"),
    ('SizeZ="6"', 'SizeZ="2000000"', "declares 2000000 or more planes"),
    ('SizeX="48"', 'SizeX="4294967296"', "48 x 4294967296 pixel planes"),
])
def test_ome_xml_sizes_the_pages_cannot_hold(ome6, tmp_path, old, new, words):
    path = _lying(ome6, tmp_path, old, new)
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and words in run.stdout, run.stdout
    with pytest.raises(ImageReadError, match="OME-XML"):
        read(path)  # never 99,994 planes of zeros


def test_honest_ome_still_reads(ome6):
    assert read(ome6).shape == (6, 48, 48)


def test_cli_info_exit_2(ome6, tmp_path, capsys):
    assert main(["info", str(_lying(ome6, tmp_path, 'SizeZ="6"', 'SizeZ="100000"'))]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --- NIfTI and DICOM headers that declare more than the file holds -----------------------------------

def _nifti_with_dims(tmp_path, name: str, dims: tuple, gz: bool = False):
    """A valid 4 x 16 x 16 int16 NIfTI whose header then claims ``dims`` (x, y, z[, t])."""
    import gzip
    import struct

    import nibabel as nib

    src = tmp_path / "src.nii"
    vol = np.random.default_rng(2).integers(0, 4000, (16, 16, 4), dtype=np.int16)  # incompressible
    nib.save(nib.Nifti1Image(vol, np.eye(4)), src)
    raw = bytearray(src.read_bytes())
    raw[40:56] = struct.pack("<8h", len(dims), *dims, *[1] * (7 - len(dims)))
    path = tmp_path / name
    path.write_bytes(gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw))
    return path


def _dicom_with(tmp_path, name: str, **tags):
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for key, value in tags.items():
        setattr(ds, key, value)
    path = tmp_path / name
    ds.save_as(path)
    return path


HOSTILE_HEADERS = {
    # name: (how to build it, words in the one-line error)
    "huge.nii": (lambda t: _nifti_with_dims(t, "huge.nii", (30000, 30000, 3000)), "file is truncated"),
    "huge4d.nii": (lambda t: _nifti_with_dims(t, "huge4d.nii", (16, 16, 4, 30000)), "file is truncated"),
    "huge.nii.gz": (lambda t: _nifti_with_dims(t, "huge.nii.gz", (30000, 30000, 3000), gz=True),
                    "too many for a"),
    # within deflate's ratio, so only inflating shows the lie: memory grows with the real stream
    "short.nii.gz": (lambda t: _nifti_with_dims(t, "short.nii.gz", (64, 64, 4), gz=True), "it inflates to"),
    "frames.dcm": (lambda t: _dicom_with(t, "frames.dcm", NumberOfFrames=2000000),
                   "64 x 64 x 2000000 (16-bit) declare 16384000000 bytes of pixel data, the file holds 8192"),
    "rows.dcm": (lambda t: _dicom_with(t, "rows.dcm", Rows=65535, Columns=65535), "the file holds 8192"),
    "bits.dcm": (lambda t: _dicom_with(t, "bits.dcm", BitsAllocated=64, BitsStored=64, HighBit=63),
                 "declare 32768 bytes of pixel data, the file holds 8192"),
    "rows0.dcm": (lambda t: _dicom_with(t, "rows0.dcm", Rows=0), "Rows must be at least 1"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HEADERS))
def test_declared_sizes_checked_before_allocating(tmp_path, name):
    build, words = HOSTILE_HEADERS[name]
    path = build(tmp_path)
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and words in run.stdout, run.stdout
    assert str(path) in run.stdout


def test_gzip_nifti_inflated_in_bounded_steps(tmp_path):
    """A .nii.gz whose header promises ~900 MB (within deflate's ratio for its 1 MB stream).

    Under a 1 GiB address-space limit, reserving the promised bytes up front fails with
    MemoryError; inflating in steps finds the stream short after ~1 MB and says so.
    """
    import gzip
    import struct

    import nibabel as nib

    src = tmp_path / "src.nii"
    vol = np.random.default_rng(3).integers(0, 256, (128, 128, 64), dtype=np.uint8)  # incompressible
    nib.save(nib.Nifti1Image(vol, np.eye(4)), src)
    raw = bytearray(src.read_bytes())
    raw[40:56] = struct.pack("<8h", 3, 1024, 1024, 900, 1, 1, 1, 1)
    path = tmp_path / "promise.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw), mtime=0))
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path), str(1 << 30)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "file is truncated (voxel data needs 943718752 bytes, it inflates to 1048928)" in run.stdout, run.stdout


def test_cap_applies_to_what_the_file_really_holds(tmp_path, monkeypatch):
    """A consistent file over the per-array cap fails with the cap's message (lazy reads are exempt)."""
    from bioimg.io import _limits

    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((4, 64, 64), np.uint16), compression="zlib", photometric="minisblack")
    monkeypatch.setattr(_limits, "FIXED_CAP_BYTES", 1000)  # under both files' 2048+ bytes
    with pytest.raises(ImageReadError, match=r"over the limit of .* GiB for an eager read"):
        read(path)
    assert read(path, lazy=True).shape == (4, 64, 64)
    nii = _nifti_with_dims(tmp_path, "ok.nii", (16, 16, 4))
    with pytest.raises(ImageReadError, match="header dimensions"):
        read(nii)


# --- only regular files -----------------------------------------------------------------------------

FIFO_READ = textwrap.dedent("""
    import sys
    from bioimg.io import ImageReadError, read
    try:
        read(sys.argv[1], lazy=sys.argv[2] == "lazy")
    except ImageReadError as exc:
        print(exc)
""")


@pytest.mark.parametrize("lazy", ["eager", "lazy"])
def test_fifo_is_refused_without_hanging(tmp_path, lazy):
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    # nobody ever writes to the pipe: an open() would block until the timeout fails the test
    run = subprocess.run([sys.executable, "-c", FIFO_READ, str(fifo), lazy], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "not a regular file (it is a FIFO (named pipe))" in run.stdout and str(fifo) in run.stdout


@pytest.mark.parametrize("name", ["x.tif", "x.ome.tif", "x.nii", "x.nii.gz", "x.dcm"])
def test_symlink_to_dev_zero_is_refused(tmp_path, name):
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    run = subprocess.run([sys.executable, "-c", LIMITED, str(link)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and "it is a character device" in run.stdout, run.stdout


def test_folder_skips_non_regular_entries(tmp_path):
    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(2):
        tifffile.imwrite(folder / f"s{i}.tif", np.full((8, 8), i, np.uint8))
    (folder / "s2.tif").symlink_to("/dev/zero")
    os.mkfifo(folder / "s3.tif")
    assert read(folder).shape == (2, 8, 8)


# --- the CLI: exit 2 and one line for each hostile file ---------------------------------------------

@pytest.mark.parametrize("name", ["fifo.tif", "zero.nii", "huge.nii", "huge.nii.gz", "frames.dcm", "ome"])
def test_cli_exit_2_one_line(tmp_path, ome6, name, capsys):
    if name == "fifo.tif":
        path = tmp_path / name
        os.mkfifo(path)
    elif name == "zero.nii":
        path = tmp_path / name
        path.symlink_to("/dev/zero")
    elif name == "ome":
        path = _lying(ome6, tmp_path, 'SizeX="48"', 'SizeX="4294967296"')
    else:
        path = HOSTILE_HEADERS[name][0](tmp_path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err



# --- a TIFF whose IFD chain loops back on itself -----------------------------------------------------
# Found by the subprocess fuzz (tests/bioimg/test_io_fuzz.py): a 2.8 KB mutated TIFF made tifffile yield
# pages without end while building its series (> 5 min, forever); read walks the chain first now.
CIRCULAR_TIFF = (
    "eNq1lnl4T1cax8++n3uESmKNJZZmErVEGEwtSS0htiAjNLZIxJoQsYytM5ViUCQTTG01VVuV0ehqKVpMW1JiDZ2SqoYYiRmpJYP5"
    "1WB0xl8z0/s83/N+n3Pfc+77nHvPuZ8uXUKAAAA4ACAB0Ocq+ASf8Ajixx4/9D+IwcjH3vM1Ab64zye/R2N9TeUn8v0f9IsH8wQ8"
    "zAEIgKqQPvBFPgU99KU+NXxibBOIgPHFWz7FPuz3DQWNJQC/qjNhxJDU4XVa1RoQHrqmSURorSYRL04Hjy70zwD/TekpSUlJKaOH"
    "N0qd8sPtWY/S79hEvlTf553UF7qZPOP9Bv4W+Kl2KJ+dNYfUMe8+u4iL0NekgGXbIriSbWRR5EbwNZODMYkmiSzK9VBbUY6oB/rB"
    "Q2Csb8ky7Vv4gH5VBtjzeoQ4YNaT+hTYiryXmQdL4F60k+wGpfAkq8xLeKTbLgKRn75Lx7NurBMK8pQKwzPdaV7dVSFJsAcw3ge6"
    "tbwFFtshZIQ7xMfybF5f5cMo2du1wbl6KWKuMUqFzMbq4zKbhNp0MZhM8OJoLDngxekN/NeokCg6EzRwaTSbVYMVxFiXRfbTPLhb"
    "rGVDwS55BNbkSNcxe8xm2t5kyRxRyfQHfT3OtrCzehXIZa30QdlBBKk1djEI42XsY9oS3QabcTDvCqnqyYTpiHrbJmAAjneRcoJb"
    "bDbqCkSioXQMD7KxwF8KWsansUxvqSznIS7WNZKf6Dx+GozEPdA1+7IoBEdMCHgGXrFbVA/8lb6IupkEuc5e1ffQDrtFZOq5JkYv"
    "pRPkXdTaTOcXZEe4147Do9BAmyLHqlA40eaDWnaa3m7LVAEJg4P4XLROzgedSQX8oidMdXCRBtqKzl/Nh2W4r2urS3Q6m2U9e8ws"
    "cy+gZDIC/pIni4H4O3pMTcR35QbV1NaH2WaHjnRVkOeCWLkdY+IRgBtAGzKHl7J58I4NERPMTvR7dhPeE9Nkc7lJFts+YAioJt7k"
    "8+1stQ89w4PYQG+kKPC+McUmE7XntfhJe0LV830xvVQMbkyoOIl/zleqzgKZHuiCLSHdfc9fZd9md81lkkzugFzuzDr0rVlOm/Ke"
    "qLbtiC7Jc3QqO6736r+SUjQdtOWHVVu+RhfYz1A43iu2giB3nHfQAWAhuiL72irEAxvFZJDNboFXZEu1Hrah26gwF2UtcFdn8eu0"
    "Kh0CZti+OssW8mLdQgXQ6Wib3ckGsMO2qV5gB9LrZJo8L3exnvA5tNGsYY3JaBtHA7m/a+XNEIlik0XCD5/zTutcuMidNeFwH/0C"
    "7/WikYSYxLBzpI4Mhtke9wjj5DOe6NVgV/U79o8oEX2nQmVlk6ARestjaDk6T2fjJbCQZ7GXwUyewIapPF0qCnUQr8HSMIEhchev"
    "zotETTtAXVEfov76De+a+BLeMElkCYR8oC0RH4nd9JTsgorFu3Ci3gpuylC8iSawyWIcWar2o9awiDTSz+ra3kWSIQd4HSSSu2gD"
    "NEc1csAdsBVZVXNPZaA/6YFmpbuuFrOv9HxdV5egWNkE9KV7bD+vt0uWB1SmXkZX0KO82OwX13U4DDHDYB3wOh9FD4pUGIun4ZoE"
    "sYqoHe7lxfMiniqjSQaNMmGw3JssXiOTlPDmYGwa6GTTXkWIK7KVFwr6oKZsELwFK7l9ZAP/s+zIDqIRejBfQW7LG/K4bW2voQXm"
    "grwOh8NgV1tm6CJ0WaWQEjRIjfL60NrsEu1vVuP6IgNG6GCbg2rKSV4gexs973ryVi6ahYE66FNZilebhuSkakMS5RRVX2TRfmKc"
    "yCc3TWt0CTVi35vzqhy8492n2uWDYBxGJ4FOXqqL1tNVM3pGj3fvm9X0VTDHbsJMVdKeCgR/o/NoQuW6ooymggZ6Gf6ab8Wx4HOv"
    "AxgsEWb6Xe6PBslM30ovNKHmIp5IJjoueuJt+oTJt0tkMRvtGuvL7AX8d/Mcv4DrejfpMBMJFvJYs4vctmfZLLTCVWWGHQWBJFG9"
    "ieNclF2H4vHnIENCkosX0WUmBbTQF/gZGQfWsRtqE/0WnPROgW/0SBvEDqsUcI0gFEHL2SmYbvNoAh3sGop0/guU5Nv19+ASWEA7"
    "4fdtG5QtD4nONBxVso69xN5TfVyCaY/3iFU4XdaDy0lzNxwWotUuTaf43vzvYLKsiK/ij9EMsogPpZNdKxOC40wQ/As+BUaKBSAU"
    "7kaXbRbR7hNvM/0ApYqzcrhY6wWY8dIfdkJRopsOs2/whbIX3SbmoVdAb5DqVdXFqIWcQn0nj8KkOa8nroi1OFzeAVPRXB0BbqHz"
    "Xlez3jyvU1B3MVmtx7d5M5ipj9K2qIkoU7NVc11AljrGe5EB6g5LlYFoFGoD9pj3wC2JeRz4CEXJ5bqDvo9y7EEpwDDRQT5L04jh"
    "8fI1dwSXeeN5LAkkRV4NmIxvsvFmEUikK9AMFWN/pj5l4VaSMroa/AHssjEkHtxQC2E7dBoGqpv4dZpGk1AeyYDBIsbLYwmyyMsE"
    "OdiPdOWRCprapAEp1dPsS+Se75Qps5lwh9hoEkSWTuNjRC8eorqbe+AQnCq/F7V5DJ4DxoMNdAc7ATvqMzxXdYc7UUuahiZ7RZgx"
    "R+qhaNsDZKnN1F91grkmEJ/iQ3CaLqdYTGV++kvf39X+Fxz0L/+YffCP2SfiiXmexj7bfRxT7aH/UP6YfZ7knX3yP0nm/1QxfRqt"
    "/e8Vp6ufrGL+01T8NFr8BxvVL9I="
)


def test_circular_ifd_chain_fails_instead_of_looping(tmp_path):
    import base64
    import zlib

    path = tmp_path / "circular.tif"
    path.write_bytes(zlib.decompress(base64.b64decode(CIRCULAR_TIFF)))
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and "circular reference" in run.stdout, run.stdout


@pytest.mark.parametrize("compression, words", [
    (None, "file is truncated (pixel data ends at byte 2147484368"),  # contiguous: the series' extent
    ("zlib", "page 0 declares 16 x 67108880 uint16 pixels (2147484160 bytes) but its strips/tiles hold"),
])
def test_tiff_page_wider_than_its_strips(tmp_path, compression, words):
    """ImageWidth set to 67,108,880 on a 16 x 16 page: 2 GiB declared, a few hundred bytes stored.

    Found by the subprocess fuzz: tifffile allocates the declared page before decoding (MemoryError
    under 2 GiB); read compares the page size with its strips (x the codec's largest ratio) first.
    """
    import struct

    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, np.arange(256, dtype=np.uint16).reshape(16, 16), photometric="minisblack",
                     compression=compression, metadata=None)  # no shape description to contradict
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["ImageWidth"].valueoffset
    raw = bytearray(path.read_bytes())
    struct.pack_into("<HI", raw, offset - 6, 4, 1)  # the entry's type -> LONG, count 1
    struct.pack_into("<I", raw, offset, 67108880)
    path.write_bytes(bytes(raw))
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("error") and words in run.stdout, run.stdout
