"""Fuzz bioimg.io.read with damaged TIFF, OME-TIFF, NIfTI and DICOM files.

Whatever the damage (flipped bits, overwritten bytes, truncation, header
fields or OME-XML sizes set to huge values), ``read`` returns a consistent
Image or raises a one-line ImageReadError; any other exception, a hang, a
MemoryError (some declared size not checked before allocating), or an Image
whose data cannot be read is a bug. The subprocess fuzz runs under a 2 GiB
address-space limit so a regression fails instead of eating the machine.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
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


# --- Subprocess fuzz under an address-space limit ------------------------------------------------------
# The in-process test above cannot see a memory blow-up or a hang. Here each mutated file is read by a
# child process limited to 2 GiB of address space, with an alarm per file: a header that makes a reader
# allocate what the file does not hold, or loop, shows up as "other"/"hang" instead of eating the machine.

FUZZ_CHILD = textwrap.dedent(r'''
    import collections, io, json, random, re, resource, signal, struct, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    import numpy as np
    from bioimg.io import ImageReadError, read

    out_dir, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sources = sys.argv[4:]
    rng = random.Random(seed)
    HUGE = (0xFFFFFFFF, 0x7FFFFFFF, 2**32, 2**31, 2**24, 2000000, 65535, 32767, 0, 1)
    counts = collections.Counter()
    others = []

    class Hang(BaseException):  # not an Exception: a library's "except Exception" must not swallow it
        pass

    def alarm(*_):
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)

    def xml_lie(b):
        at = [m.start(1) for m in re.finditer(rb'Size[XYZCT]="(\d+)"', bytes(b))]
        if not at:
            return flip(b)
        j = rng.choice(at)
        b[j:b.index(b'"', j)] = str(rng.choice(HUGE)).encode()
        return b

    def flip(b):
        for _ in range(rng.randint(1, 12)):
            span = len(b) if rng.random() < 0.3 else min(len(b), 400)  # headers change the most
            b[rng.randrange(span)] ^= 1 << rng.randrange(8)
        return b

    def word(b):  # a header field (any 2/4/8 bytes near the start) set to a huge value
        j, size = rng.randrange(min(len(b), 400)), rng.choice((2, 4, 8))
        b[j:j + size] = (rng.choice(HUGE) % (1 << 8 * size)).to_bytes(size, rng.choice(("little", "big")))
        return b

    def nifti_dims(b):  # NIfTI-1 dim[0..7] (bytes 40-56) and datatype/bitpix edits
        k = rng.randrange(8)
        b[40 + 2 * k:42 + 2 * k] = struct.pack("<h", rng.choice((32767, 30000, 1, 0, -1, 8)))
        if rng.random() < 0.3:
            b[70:74] = struct.pack("<hh", *rng.choice(((64, 64), (1792, 128), (16, 32), (2, 8))))
        return b

    def dicom_tags(b):
        import pydicom
        ds = pydicom.dcmread(io.BytesIO(bytes(b)), force=True)
        for _ in range(rng.randint(1, 3)):
            tag = rng.choice(("Rows", "Columns", "NumberOfFrames", "BitsAllocated", "SamplesPerPixel"))
            setattr(ds, tag, rng.choice((65535, 32768, 2000000, 0, 1, 3, 64)) if tag != "NumberOfFrames"
                    else rng.choice((2000000, 99999999, 0, 3, 2)))
        out = io.BytesIO()
        ds.save_as(out)
        return bytearray(out.getvalue())

    def truncate(b):
        return b[:rng.randrange(len(b))]

    def gz_of(src, b):  # mutate the raw NIfTI, then compress: the damage reaches the header parser
        import gzip
        return bytearray(gzip.compress(bytes(b), mtime=0))

    for i in range(n):
        src = rng.choice(sources)
        name = src.rsplit("/", 1)[-1]
        b = bytearray(open(src, "rb").read())
        ops = [flip, truncate, word]
        if ".ome." in name:
            ops += [xml_lie, xml_lie]
        if ".nii" in name:
            ops += [nifti_dims, nifti_dims]
        if name.endswith(".dcm"):
            ops += [dicom_tags, dicom_tags]
        raw_nii = name == "gz-of.nii"
        for _ in range(rng.randint(1, 2)):
            op = rng.choice(ops)
            try:
                b = op(b) if len(b) else b
            except Exception:  # pydicom could not re-save this: keep the bytes as they are
                pass
        if raw_nii:
            b = gz_of(src, b)
            name = "gz-of.nii.gz"
        path = f"{out_dir}/case{name[name.index('.'):]}"
        open(path, "wb").write(bytes(b))
        counts["tried"] += 1
        signal.alarm(30)
        try:
            img = read(path)
            np.asarray(img.data).sum()  # every byte readable
            counts["read"] += 1
        except ImageReadError as exc:
            text = str(exc)
            if "\n" in text.strip() or path not in text:
                counts["bad message"] += 1
                others.append(f"{name}: message {text[:200]!r}")
            elif "not enough memory" in text:  # a MemoryError: some size was not checked first
                counts["memory"] += 1
                others.append(f"{name}: {text[len(path):][:200]}")
                open(f"{out_dir}/memory-{i}{name[name.index('.'):]}", "wb").write(bytes(b))
            else:
                counts["clean"] += 1
        except Hang:
            counts["hang"] += 1
            others.append(f"{name}: no answer in 30 s")
            open(f"{out_dir}/hang-{i}{name[name.index('.'):]}", "wb").write(bytes(b))
        except BaseException as exc:
            counts["other"] += 1
            others.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
            open(f"{out_dir}/other-{i}{name[name.index('.'):]}", "wb").write(bytes(b))
        finally:
            signal.alarm(0)
    print(json.dumps({"counts": counts, "others": others[:20]}))
''')


@pytest.fixture(scope="module")
def fuzz_sources(tmp_path_factory) -> list[str]:
    import nibabel as nib
    import pydicom
    import tifffile
    from pydicom.data import get_testdata_file

    folder = tmp_path_factory.mktemp("fuzz-sub")
    rng = np.random.default_rng(1)
    vol = rng.integers(0, 4000, (4, 16, 16), dtype=np.int16)
    tifffile.imwrite(folder / "plain.tif", vol, photometric="minisblack")
    tifffile.imwrite(folder / "zlib.tif", vol, photometric="minisblack", compression="zlib")
    write(folder / "imagej.tif", Image(vol.astype(np.uint16), "ZYX", (2.0, 0.5, 0.5), "micrometer"))
    tifffile.imwrite(folder / "six.ome.tif", rng.integers(0, 255, (6, 48, 48), dtype=np.uint8), ome=True,
                     metadata={"axes": "ZYX"})
    tifffile.imwrite(folder / "czyx.ome.tif", rng.integers(0, 255, (2, 3, 16, 16), dtype=np.uint8), ome=True,
                     metadata={"axes": "CZYX"})
    nib.save(nib.Nifti1Image(vol.T, np.diag([2.0, 1.0, 1.0, 1.0])), folder / "vol.nii")
    nib.save(nib.Nifti1Image(vol.T, np.eye(4)), folder / "vol.nii.gz")
    nib.save(nib.Nifti1Image(vol.T, np.eye(4)), folder / "gz-of.nii")  # mutated, then gzip-compressed
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.save_as(folder / "mr.dcm")
    ds.NumberOfFrames, ds.Rows = 2, 32  # the same bytes as two 32 x 64 frames
    ds.save_as(folder / "frames.dcm")
    return [str(p) for p in sorted(folder.iterdir())]


def _fuzz(fuzz_sources, tmp_path, n: int, seed: int) -> dict:
    run = subprocess.run([sys.executable, "-c", FUZZ_CHILD, str(tmp_path), str(n), str(seed), *fuzz_sources],
                         capture_output=True, text=True, timeout=max(600, n // 10))
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(report["counts"], report["others"])  # pytest -s shows them: tried / read / clean / anything else
    return report


@pytest.mark.parametrize("n, seed", [(25000, 0), pytest.param(200000, 1, marks=pytest.mark.slow)])
def test_fuzzed_files_under_memory_limit(fuzz_sources, tmp_path, n, seed):
    """Only one-line ImageReadErrors naming the file: no other exception, no hang, no MemoryError.

    The default run takes ~30 s on 2 cores; ``-m slow`` runs 200,000 cases.
    """
    report = _fuzz(fuzz_sources, tmp_path, n, seed)
    counts = report["counts"]
    assert counts["tried"] == n
    assert counts.get("read", 0) + counts.get("clean", 0) == n, report["others"]
    assert counts.get("clean", 0) > n // 4  # the mutations do reach the checks
