"""Read a bioimage.io model package with ONNX weights as a ``BioimgModel``.

A package written by ``bioimg export`` carries ``config.bioimg`` (task,
architecture, normalization, class names): the bioimg architecture is
rebuilt and its weights are read from the ONNX initializers, so the model
predicts and fine-tunes exactly as the original. Any other package runs its
ONNX graph through ``autograd.onnx.load``; task, normalization and sizes
come from the rdf (outputs, preprocessing, axes).
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from ..modelfile import BioimgModel, ModelFileError, ModelInfo

RDF_NAMES = ("rdf.yaml", "bioimageio.yaml")
MAX_RDF = 1 << 20
MAX_ONNX = 2 << 30


def is_package(path) -> bool:
    """True for a ``.zip`` holding an ``rdf.yaml`` (and no bioimg ``config.json``); never raises.

    Only ``.zip`` names are opened, and through the model loader's guarded
    open (regular file, bounded zip directory), so a ``.bioimg`` file or a
    hostile file costs nothing extra here.
    """
    from ..modelfile import _open
    if Path(path).suffix.lower() != ".zip":
        return False
    try:
        with _open(Path(path)) as zf:
            names = set(zf.namelist())
    except (ModelFileError, OSError):
        return False
    return "config.json" not in names and any(n in names for n in RDF_NAMES)


def _read(path: Path, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{path}: the package has no file {name!r}") from None
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {name} declares {info.file_size:,} bytes (limit {limit:,})")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ModelFileError(f"{path}: {name} is larger than its declared size")
    return data


def _rdf(path: Path, zf: zipfile.ZipFile) -> dict:
    import yaml
    name = next(n for n in RDF_NAMES if n in zf.namelist())
    try:
        rdf = yaml.safe_load(_read(path, zf, name, MAX_RDF).decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: {name} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(rdf, dict) or rdf.get("type") != "model":
        raise ModelFileError(f"{path}: {name} does not describe a model (type "
                             f"{rdf.get('type') if isinstance(rdf, dict) else None!r})")
    if not str(rdf.get("format_version", "")).startswith("0.5"):
        raise ModelFileError(f"{path}: model spec {rdf.get('format_version')!r} is not supported "
                             "(0.5.x; update the package with bioimageio.spec)")
    return rdf


def _onnx(path: Path, zf: zipfile.ZipFile, rdf: dict) -> bytes:
    weights = rdf.get("weights") or {}
    entry = weights.get("onnx")
    if not isinstance(entry, dict):
        raise ModelFileError(f"{path}: the package has no ONNX weights (it has "
                             f"{', '.join(sorted(weights)) or 'none'}); bioimg runs ONNX weights only")
    source = str(entry.get("source", ""))
    if "://" in source:
        raise ModelFileError(f"{path}: ONNX weights at a URL ({source[:80]}) are not downloaded; "
                             "use a package that contains them")
    data = _read(path, zf, source, MAX_ONNX)
    sha = entry.get("sha256")
    if sha and hashlib.sha256(data).hexdigest() != sha:
        raise ModelFileError(f"{path}: {source} does not match its sha256 in the rdf (damaged file)")
    return data


def _bioimg_net(cfg: dict, onnx_model):
    """The original bioimg architecture with its weights from the ONNX initializers, or None."""
    from onnx import numpy_helper
    import autograd as torch
    from ..models import build_model
    try:
        net = build_model(cfg["architecture"], **cfg["config"])
    except (KeyError, TypeError, ValueError):
        return None
    inits = {t.name: numpy_helper.to_array(t) for t in onnx_model.graph.initializer}
    state = net.state_dict()
    new = {}
    for key, value in state.items():
        arr = inits.get(key)
        if arr is None:
            if value.dtype.kind == "f":  # a float weight the graph lacks: not this architecture
                return None
            new[key] = value
            continue
        if tuple(arr.shape) != tuple(value.shape):
            return None
        new[key] = torch.from_numpy(np.array(arr, dtype=np.float32))
    net.load_state_dict(new, strict=True)
    return net.eval()


def _space(axes: list) -> str:
    return "".join(str(a.get("id", a.get("type", "?"))).upper() for a in axes
                   if a.get("type") == "space")


def _generic_info(path: Path, rdf: dict, net) -> ModelInfo:
    from ._rdf import normalization_from
    inp, out = (rdf.get("inputs") or [None])[0], (rdf.get("outputs") or [None])[0]
    if not inp or not out or len(rdf["inputs"]) != 1 or len(rdf["outputs"]) != 1:
        raise ModelFileError(f"{path}: bioimg runs models with one input and one output tensor")
    kinds = [a.get("type") for a in inp["axes"]]
    if kinds[:2] != ["batch", "channel"] or any(k != "space" for k in kinds[2:]):
        raise ModelFileError(f"{path}: input axes {kinds} are not supported (batch, channel, then "
                             "space axes)")
    letters = _space(inp["axes"])
    if len(letters) not in (2, 3) or not set(letters) <= set("ZYX"):
        raise ModelFileError(f"{path}: input space axes {letters!r} are not 2D/3D z/y/x axes")
    chan = inp["axes"][1]
    in_c = len(chan.get("channel_names") or []) or int(chan.get("size", 1))
    out_chan = next((a for a in out["axes"] if a.get("type") == "channel"), {})
    names = [str(n) for n in out_chan.get("channel_names") or []]
    post = [p.get("id") for p in out.get("postprocessing") or []]
    unknown = [p for p in post if p not in ("softmax", "ensure_dtype")]
    if unknown:
        raise ModelFileError(f"{path}: output postprocessing {unknown[0]!r} is not supported by bioimg")
    dense = any(a.get("type") == "space" for a in out["axes"])
    task = "classify" if not dense else ("segment" if "softmax" in post or len(names) != in_c
                                         else "denoise")
    try:
        norm = normalization_from(inp.get("preprocessing"))
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    sizes = [a.get("size") for a in inp["axes"][2:]]
    steps = [s.get("step", 1) if isinstance(s, dict) else 1 for s in sizes]
    net.size_multiple = int(max(steps + [1]))
    patch = [int(s.get("min", 64)) if isinstance(s, dict) else int(s) for s in sizes]
    patch = [max(p, 64 // net.size_multiple * net.size_multiple or p) for p in patch]
    return ModelInfo(task=task, architecture="onnx",
                     config={"in_channels": in_c, "out_channels": len(names) or in_c,
                             "ndim": len(letters)},
                     axes=letters, patch_size=patch, normalization=norm,
                     class_names=names if task != "denoise" else [],
                     extra={"bioimageio": {"name": rdf.get("name"), "source": str(path)}})


def load_package(path) -> BioimgModel:
    """A ``BioimgModel`` from a bioimage.io package (zip) with ONNX weights.

    Raises
    ------
    ModelFileError
        One line naming the file and the problem (no ONNX weights, unsupported
        axes/ops, damaged file, ...).
    """
    from ._export import require
    from ..modelfile import _open
    path = Path(path)
    try:
        onnx = require("onnx")
    except ImportError as exc:  # a user error here (one line), not a traceback
        raise ModelFileError(f"{path}: {exc}") from None
    import autograd.onnx as aonnx
    zf = _open(path)
    with zf:
        rdf = _rdf(path, zf)
        data = _onnx(path, zf, rdf)
    try:
        model = onnx.load_from_string(data)
        net = aonnx.load(model)
    except aonnx.UnsupportedOperatorError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except Exception as exc:  # onnx's checker/decoder errors have no common base class
        raise ModelFileError(f"{path}: the ONNX weights are invalid ({str(exc).splitlines()[0]})"[:300]) \
            from None
    cfg = (rdf.get("config") or {}).get("bioimg")
    if isinstance(cfg, dict) and cfg.get("task") in ("segment", "instance", "classify", "denoise"):
        native = _bioimg_net(cfg, model)
        if native is not None:
            info = ModelInfo(task=cfg["task"], architecture=cfg["architecture"],
                             config=dict(cfg["config"]), axes=cfg.get("axes", "YX"),
                             patch_size=list(cfg.get("patch_size") or []),
                             normalization=dict(cfg.get("normalization") or {}),
                             class_names=list(cfg.get("class_names") or []),
                             extra=dict(cfg.get("extra") or {}))
            return BioimgModel(native, info)
    return BioimgModel(net, _generic_info(path, rdf, net))
