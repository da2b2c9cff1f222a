"""Hostile image files: declared sizes checked before allocating, no fabricated planes, no hang.

Issue 14's rows for image files, and a seeded mutation fuzz of TIFF, OME-TIFF,
NIfTI and DICOM files through ``bioimg.io.read`` in a subprocess under a
2 GiB address-space limit (a regression fails there instead of eating the
machine).
"""
from __future__ import annotations

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
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
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


FUZZ = textwrap.dedent("""
    import random, re, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    from bioimg.io import ImageReadError, read
    out_dir, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sources = sys.argv[4:]
    rng = random.Random(seed)
    counts = {"tried": 0, "read": 0, "clean": 0}
    huge = (b"4294967296", b"2000000", b"99999999", b"0", b"-1")
    for i in range(n):
        src = rng.choice(sources)
        b = bytearray(open(src, "rb").read())
        how = rng.choice(("flip", "truncate", "word", "xml"))
        if how == "flip":
            for _ in range(rng.randint(1, 12)):
                b[rng.randrange(min(len(b), rng.choice((400, len(b)))))] = rng.randrange(256)
        elif how == "truncate":
            b = b[: rng.randrange(len(b))]
        elif how == "word":  # a header field set to a huge value
            j = rng.randrange(min(len(b), 400))
            b[j:j + 4] = rng.choice((b"\\xff\\xff\\xff\\x7f", b"\\x00\\x00\\x01\\x00", b"\\xff\\xff\\xff\\xff"))
        else:  # an OME-XML Size attribute set to a lie (other files: a flip)
            at = [m.start(1) for m in re.finditer(rb'Size[XYZCT]="(\\d+)"', bytes(b))]
            if at:
                j = rng.choice(at)
                k = b.index(b'"', j)
                b[j:k] = rng.choice(huge)
            else:
                b[rng.randrange(len(b))] ^= 0xFF
        ext = src[src.index("."):]
        path = f"{out_dir}/f{ext}"
        open(path, "wb").write(bytes(b))
        counts["tried"] += 1
        try:
            img = read(path)
            img.data.sum()
            counts["read"] += 1
        except ImageReadError as exc:
            assert "\\n" not in str(exc).strip(), str(exc)
            counts["clean"] += 1
    print(counts)
""")


@pytest.fixture(scope="module")
def sources(tmp_path_factory, ome6):
    import nibabel as nib
    import pydicom.data

    folder = tmp_path_factory.mktemp("fuzz-sources")
    vol = np.random.default_rng(1).integers(0, 4000, (4, 16, 16), dtype=np.int16)
    tifffile.imwrite(folder / "plain.tif", vol, photometric="minisblack")
    shutil.copy(ome6, folder / "ome.ome.tif")
    nib.save(nib.Nifti1Image(vol, np.diag([2.0, 1.0, 1.0, 1.0])), folder / "vol.nii")
    nib.save(nib.Nifti1Image(vol, np.eye(4)), folder / "vol.nii.gz")
    shutil.copy(pydicom.data.get_testdata_file("MR_small.dcm"), folder / "mr.dcm")
    return [str(p) for p in sorted(folder.iterdir())]


@pytest.mark.parametrize("n, seed", [(250, 0), pytest.param(3000, 1, marks=pytest.mark.slow)])
def test_fuzzed_image_files(sources, tmp_path, n, seed):
    """Every mutated file reads or is a one-line ImageReadError, under 2 GiB and without hanging."""
    run = subprocess.run([sys.executable, "-c", FUZZ, str(tmp_path), str(n), str(seed), *sources],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = eval(run.stdout.strip().splitlines()[-1])  # the dict literal the script printed
    assert counts["tried"] == n and counts["read"] + counts["clean"] == n
    print(counts)
