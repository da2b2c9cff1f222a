"""The ``.bioimg`` model file: one zip holding weights and everything needed to use them.

Layout: ``config.json`` (format, version, task, architecture name + config,
axes, patch size, normalization, class names, training history, bioimg
version, and a SHA-256 of every weight array) and ``weights/<key>.npy``
(loaded with ``allow_pickle=False``). Loading never executes code and
rejects unknown versions and tampered files.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._modelschema import DTYPES, MAX_WEIGHTS

FORMAT = "bioimg-model"
VERSION = 1
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_FILE_BYTES = 4 << 30          # the weight table may declare at most 2 GiB; deflate cannot grow data 2x
MAX_DIRECTORY_BYTES = 16 << 20    # ~60 bytes per entry: 10,000 weights need < 1 MB
MAX_RATIO = 1100                  # deflate cannot compress more than ~1032:1; beyond that the sizes lie


class ModelFileError(ValueError):
    """A model file that cannot be used: names the file and the reason, in one printable line.

    Parts of the message can come from the file itself (names, zip errors
    quoting header bytes): control characters are escaped and the line is cut,
    so a hostile file cannot spread the message over many lines.
    """

    def __init__(self, message: str) -> None:
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))
        super().__init__(text if len(text) <= 400 else text[:397] + "...")


@dataclass
class ModelInfo:
    """Everything about a trained model except its weights."""

    task: str                      # "segment" | "instance" | "classify" | "denoise"
    architecture: str              # registry name in bioimg.models
    config: dict                   # keyword arguments that rebuild the architecture
    axes: str = "YX"               # spatial axes the model was trained on
    patch_size: list = field(default_factory=list)
    normalization: dict = field(default_factory=dict)
    class_names: list = field(default_factory=list)
    history: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


class BioimgModel:
    """A network plus its ``ModelInfo``; what training returns and prediction uses."""

    def __init__(self, net, info: ModelInfo):
        self.net = net
        self.info = info

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def ndim(self) -> int:
        return int(self.info.config.get("ndim", len(self.info.axes)))

    def summary(self) -> str:
        from .models import summary
        return f"{self.info.task} model: {summary(self.net)}"

    def save(self, path) -> Path:
        return save_model(self, path)


def _weights(net) -> dict:
    return {k: np.asarray(v.numpy(), order="C") for k, v in net.state_dict().items()}


def _digest(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(arr.dtype).encode() + str(arr.shape).encode())
    h.update(np.asarray(arr, order="C").tobytes())
    return h.hexdigest()


def save_model(model: BioimgModel, path) -> Path:
    """Write ``model`` to ``path`` atomically (temporary file, ``fsync``, then rename).

    ``path`` holds either its old bytes or the complete new model at every
    moment, even if the process is killed during the write.
    """
    from . import __version__
    from .io._atomic import atomic_file

    path = Path(path)
    weights = _weights(model.net)
    config = {"format": FORMAT, "version": VERSION, "bioimg_version": __version__,
              **asdict(model.info),
              "weights": {k: {"file": f"weights/{i:04d}.npy", "sha256": _digest(a),
                              "shape": list(a.shape), "dtype": str(a.dtype)}
                          for i, (k, a) in enumerate(weights.items())}}
    text = json.dumps(config, indent=1, default=_json_default)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The shared atomic writer: a kill at any moment leaves the old file intact
    # and no temporary file behind (see bioimg.io._atomic).
    with atomic_file(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", text)
        for k, a in weights.items():
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            zf.writestr(config["weights"][k]["file"], buf.getvalue())
    return path


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a model file")


def read_info(path) -> tuple[ModelInfo, dict]:
    """Read and validate ``config.json`` only (cheap: for the GUI; no weight is read).

    Parameters
    ----------
    path : str or Path
        A ``.bioimg`` file (a regular file; symlinks are followed).

    Returns
    -------
    (ModelInfo, dict)
        The model's description and the whole parsed, schema-checked ``config.json``.

    Raises
    ------
    ModelFileError
        A ``ValueError`` naming the file and the problem in one line: not a
        regular file, not a zip, a config.json that fails the schema, ...
    """
    path = Path(path)
    zf = _open(path)
    with zf:
        return _parse_config(path, zf)


def _open(path: Path) -> zipfile.ZipFile:
    """Open a model file: a regular file only (a FIFO would hang, /dev/zero never ends).

    The file is opened with ``O_NONBLOCK`` (opening a FIFO returns at once
    instead of waiting for a writer) and what was opened is checked with
    ``fstat``, so nothing can be swapped in between the check and the read.
    Symlinks are followed: the target is what is checked.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:  # some systems refuse to open folders for reading
        raise ModelFileError(f"{path}: a folder, not a bioimg model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror})") from None
    fh = None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"{path}: not a regular file ({_kind(st.st_mode)}), not a bioimg model file")
        if st.st_size > MAX_FILE_BYTES:
            raise ModelFileError(f"{path}: {st.st_size:,} bytes, more than a bioimg model file can hold")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
        _check_directory_size(path, fh)
        zf = zipfile.ZipFile(fh)
    except ModelFileError:
        fh.close() if fh is not None else os.close(fd)  # the fd belongs to fh once wrapped
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error) as exc:
        fh.close() if fh is not None else os.close(fd)
        raise ModelFileError(f"{path}: not a bioimg model file ({exc})"[:300]) from None
    if len(zf.filelist) > MAX_WEIGHTS + 16:
        zf.close()
        raise ModelFileError(f"{path}: {len(zf.filelist):,} entries, more than a bioimg model file holds")
    return zf


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "a special file"


def _check_directory_size(path: Path, fh) -> None:
    """Refuse a zip whose central directory is huge BEFORE zipfile parses it.

    zipfile builds a Python object for every directory entry (~10x its bytes on
    disk): a file of nothing but tiny entries would cost gigabytes to list.
    """
    end = zipfile._EndRecData(fh)  # the end-of-directory record; stable since Python 2
    if end is None:
        raise ModelFileError(f"{path}: not a bioimg model file (not a zip archive)")
    if end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES or end[zipfile._ECD_ENTRIES_TOTAL] > MAX_WEIGHTS + 16:
        raise ModelFileError(f"{path}: the zip directory lists {end[zipfile._ECD_ENTRIES_TOTAL]:,} entries "
                             f"in {end[zipfile._ECD_SIZE]:,} bytes, more than a bioimg model file holds")
    fh.seek(0)


def _parse_config(path: Path, zf: zipfile.ZipFile) -> tuple[ModelInfo, dict]:
    from ._modelschema import SchemaError, describe, validate_config

    try:
        info = zf.getinfo("config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{path}: config.json is implausibly large")
        with zf.open(info) as fh:  # bounded: a lying size header cannot inflate more
            text = fh.read(MAX_CONFIG_BYTES + 1)
        if len(text) > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{path}: config.json is implausibly large")
        config = json.loads(text.decode("utf-8"))
    except KeyError:
        raise ModelFileError(f"{path}: not a bioimg model file (no config.json)") from None
    except RecursionError:
        raise ModelFileError(f"{path}: config.json is nested too deeply") from None
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError,
            NotImplementedError) as exc:  # NotImplementedError: an unknown compression method
        raise ModelFileError(f"{path}: config.json is corrupt ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a bioimg model file (format {config.get('format')!r})"[:300]
                             if isinstance(config, dict) else f"{path}: config.json is not an object")
    try:
        validate_config(config, VERSION)
    except SchemaError as exc:
        raise ModelFileError(describe(path, exc)) from None
    fields = {k: config[k] for k in ModelInfo.__dataclass_fields__ if k in config}
    try:
        info = ModelInfo(**fields)
    except TypeError as exc:
        raise ModelFileError(f"{path}: config.json is missing fields ({exc})") from None
    return info, config


def _read_weight(path: Path, zf: zipfile.ZipFile, key: str, meta: dict) -> np.ndarray:
    """One weight array, checked against its declared shape and dtype BEFORE its data is read.

    The zip entry is read through a bounded stream: at most the declared
    array's bytes plus the ``.npy`` header, whatever the entry's size fields
    say (a small file cannot inflate to gigabytes), and a real (float or
    integer), finite array is the only thing accepted.
    """
    from numpy.lib import format as npy

    if meta["dtype"] not in DTYPES:  # the schema checked this already; kept here for direct callers
        raise ModelFileError(f"{path}: weight {key!r} is {meta['dtype']!r}, not a real number array"[:300])
    dtype = np.dtype(meta["dtype"])
    shape = tuple(meta["shape"])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    try:
        entry = zf.getinfo(meta["file"])
    except KeyError:
        raise ModelFileError(f"{path}: weight {key!r} is missing from the archive") from None
    if entry.file_size > expected + 65536:  # 64 KiB: the largest .npy header numpy writes
        raise ModelFileError(f"{path}: weight {key!r} declares {entry.file_size} bytes for a {dtype} array "
                             f"of shape {shape}")
    if entry.file_size > 1 << 20 and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
        raise ModelFileError(f"{path}: weight {key!r} claims to inflate {entry.compress_size} bytes to "
                             f"{entry.file_size} (more than deflate can)")
    try:
        with zf.open(entry) as fh:
            version = npy.read_magic(fh)
            header = npy.read_array_header_1_0(fh) if version == (1, 0) else npy.read_array_header_2_0(fh)
            got_shape, fortran, got_dtype = header
            if tuple(got_shape) != shape or got_dtype != dtype:
                raise ModelFileError(f"{path}: weight {key!r} is {got_dtype} {tuple(got_shape)} but config.json "
                                     f"says {dtype} {shape}"[:300])
            data = fh.read(expected + 1)
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an entry flagged as encrypted
        raise ModelFileError(f"{path}: weight {key!r} is unreadable ({exc})"[:300]) from None
    if len(data) != expected:
        raise ModelFileError(f"{path}: weight {key!r} holds {len(data)} bytes, expected {expected}")
    # a writable C-order copy; ascontiguousarray would turn 0-d into 1-d
    arr = np.array(np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C"), order="C")
    if _digest(arr) != meta.get("sha256"):
        raise ModelFileError(f"{path}: weight {key!r} does not match its checksum "
                             "(the file was modified or corrupted)")
    if dtype.kind == "f" and not np.isfinite(arr).all():
        raise ModelFileError(f"{path}: weight {key!r} holds {int((~np.isfinite(arr)).sum())} NaN/inf values")
    return arr


def load_model(path) -> BioimgModel:
    """Load a ``.bioimg`` file: rebuild the architecture by name and load verified weights.

    Everything is checked before memory is committed: the file type, the zip
    directory's size, the config schema (architecture limits, a weight table
    of at most 100 M values / 2 GiB), each entry's declared size and ``.npy``
    header; entries are read through bounded streams, then checksums, NaN/inf.

    Parameters
    ----------
    path : str or Path
        A ``.bioimg`` file (a regular file; symlinks are followed).

    Returns
    -------
    BioimgModel
        The network in eval mode with its ``ModelInfo``.

    Raises
    ------
    ModelFileError
        A ``ValueError`` naming the file and the problem in one line.
    """
    from .models import build_model
    import autograd as torch

    path = Path(path)
    from .zoo._load import is_package  # bioimage.io packages (zip + rdf.yaml, ONNX weights)
    if is_package(path):
        from .zoo import load_package
        return load_package(path)
    zf = _open(path)
    with zf:
        info, config = _parse_config(path, zf)  # the schema: architecture limits, the weight table
        state = {key: torch.from_numpy(_read_weight(path, zf, key, meta))
                 for key, meta in config["weights"].items()}
    try:
        net = build_model(info.architecture, **info.config)
    except (TypeError, ValueError, MemoryError) as exc:
        raise ModelFileError(f"{path}: cannot rebuild {info.architecture} ({exc})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: weights do not fit the architecture: {exc}") from None
    net.eval()
    return BioimgModel(net, info)
