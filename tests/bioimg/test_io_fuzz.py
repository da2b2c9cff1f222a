"""Fuzz bioimg.io.read with damaged TIFF and NIfTI files.

Whatever the damage (flipped bits, overwritten bytes, truncation), ``read``
returns a consistent Image or raises ImageReadError; any other exception (or
an Image whose data cannot be read) is a bug.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioimg.io import Image, ImageReadError, read, write

# Small valid files: (name, how to build). The .nii.gz built from a mutated
# .nii (compressed after mutation) reaches the header parser, which damage to
# the compressed bytes rarely does (gzip's CRC catches it first).
SOURCES = ["imagej.tif", "plain.tif", "zlib.tif", "ome.ome.tif", "rgb.tif", "vol.nii", "vol.nii.gz", "gz-of.nii.gz"]


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz-src")
    rng = np.random.default_rng(0)
    vol = rng.integers(0, 4000, (3, 6, 7), dtype=np.uint16)
    image = Image(vol, "ZYX", (2.0, 0.5, 0.5), "micrometer")
    write(folder / "imagej.tif", image)
    write(folder / "plain.tif", image.with_data(vol.astype(np.int32)))
    write(folder / "zlib.tif", image, compression="zlib")
    write(folder / "ome.ome.tif", Image(vol[:2], "CYX", (0.5, 0.5), "micrometer"))
    write(folder / "rgb.tif", Image(rng.integers(0, 255, (5, 6, 3), dtype=np.uint8), "YXC", (1.0, 1.0)))
    mri = Image(vol.astype(np.int16), "ZYX", (3.0, 1.0, 1.0), "millimeter")
    write(folder / "vol.nii", mri)
    write(folder / "vol.nii.gz", mri)
    out = {name: (folder / name).read_bytes() for name in SOURCES if name != "gz-of.nii.gz"}
    out["gz-of.nii.gz"] = out["vol.nii"]  # mutated raw, then gzip-compressed in the test
    return out


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 2**31), st.integers(0, 255)),
    st.tuples(st.just("word"), st.integers(0, 2**31), st.sampled_from([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF,
                                                                       0xFFFFFFFF, 2**16, 2**24])),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.just(0)),
)


def _mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for op, pos, value in mutations:
        if not buf:
            break
        # bias towards the headers, where a byte changes the most
        pos = pos % (len(buf) if pos % 3 == 0 else min(len(buf), 400))
        if op == "flip":
            buf[pos] ^= 1 << value
        elif op == "set":
            buf[pos] = value
        elif op == "word":
            buf[pos:pos + 4] = value.to_bytes(4, "little")
        else:
            del buf[pos:]
    return bytes(buf)


def _check(img: Image) -> None:
    arr = np.asarray(img.data)
    assert len(img.axes) == arr.ndim
    assert len(img.spacing) == sum(a in "ZYX" for a in img.axes)
    assert all(np.isfinite(s) and s > 0 for s in img.spacing)
    arr.sum()  # every byte readable


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_read_damaged_file(originals, tmp_path_factory, source, mutations):
    damaged = _mutate(originals[source], mutations)
    if source == "gz-of.nii.gz":
        damaged = gzip.compress(damaged, mtime=0)
    name = "gzipped.nii.gz" if source == "gz-of.nii.gz" else source
    path: Path = tmp_path_factory.getbasetemp() / f"fuzz-{name}"
    path.write_bytes(damaged)
    try:
        img = read(path)
    except ImageReadError as exc:
        assert str(path) in str(exc)
        return
    _check(img)
