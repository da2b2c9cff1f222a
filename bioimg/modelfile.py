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
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "bioimg-model"
VERSION = 1
MAX_CONFIG_BYTES = 8 * 1024 * 1024


class ModelFileError(ValueError):
    """A model file that cannot be used: names the file and the reason."""


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
    """Read and validate ``config.json`` only (cheap: for ``bioimg info`` and the GUI)."""
    path = Path(path)
    zf = _open(path)
    with zf:
        return _parse_config(path, zf)


def _open(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path}: not a bioimg model file ({exc})") from None


def _parse_config(path: Path, zf: zipfile.ZipFile) -> tuple[ModelInfo, dict]:
    try:
        info = zf.getinfo("config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{path}: config.json is implausibly large")
        config = json.loads(zf.read(info).decode("utf-8"))
    except KeyError:
        raise ModelFileError(f"{path}: not a bioimg model file (no config.json)") from None
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{path}: config.json is corrupt ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a bioimg model file (format {config.get('format')!r})"
                             if isinstance(config, dict) else f"{path}: config.json is not an object")
    version = config.get("version")
    if version != VERSION:
        raise ModelFileError(f"{path}: model file version {version!r} is not supported "
                             f"(this bioimg reads version {VERSION})")
    fields = {k: config[k] for k in ModelInfo.__dataclass_fields__ if k in config}
    try:
        info = ModelInfo(**fields)
    except TypeError as exc:
        raise ModelFileError(f"{path}: config.json is missing fields ({exc})") from None
    return info, config


def load_model(path) -> BioimgModel:
    """Load a ``.bioimg`` file: rebuild the architecture by name and load verified weights."""
    from .models import MODELS, build_model
    import autograd as torch

    path = Path(path)
    zf = _open(path)
    with zf:
        info, config = _parse_config(path, zf)
        if info.architecture not in MODELS:
            raise ModelFileError(f"{path}: unknown architecture {info.architecture!r}")
        entries = config.get("weights")
        if not isinstance(entries, dict):
            raise ModelFileError(f"{path}: config.json has no weight table")
        state = {}
        for key, meta in entries.items():
            try:
                raw = zf.read(meta["file"])
                arr = np.load(io.BytesIO(raw), allow_pickle=False)
            except (KeyError, TypeError):
                raise ModelFileError(f"{path}: weight {key!r} is missing from the archive") from None
            except (ValueError, OSError, zipfile.BadZipFile) as exc:
                raise ModelFileError(f"{path}: weight {key!r} is unreadable ({exc})") from None
            if _digest(arr) != meta.get("sha256"):
                raise ModelFileError(f"{path}: weight {key!r} does not match its checksum "
                                     "(the file was modified or corrupted)")
            state[key] = torch.from_numpy(arr)
    try:
        net = build_model(info.architecture, **info.config)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: cannot rebuild {info.architecture} ({exc})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: weights do not fit the architecture: {exc}") from None
    net.eval()
    return BioimgModel(net, info)
