"""Write a bioimg model as a bioimage.io model package (zip) or as a bare ONNX file."""
from __future__ import annotations

import getpass
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from . import _rdf
from ._docs import cover_png, readme

OPSET = 17


def require(module: str):
    """Import an optional dependency of export/import or fail in one line."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this needs the optional package {module!r}: "
                          "pip install 'bioimg[export]'") from None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _tif(arr: np.ndarray) -> bytes:
    import tifffile
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(arr, dtype=np.float32), photometric="minisblack")
    return buf.getvalue()


def _test_image(model, image) -> np.ndarray:
    """A raw (un-normalized) test input of shape (1, C, [Z,] Y, X), float32, size-compatible."""
    info, nd = model.info, model.ndim
    c = int(info.config.get("in_channels", 1))
    if image is None:
        from ..sample import sample_paths
        try:
            path, _ = sample_paths("nuclei2d" if nd == 2 else "nuclei3d")
            from ..io import read
            image = read(path)
        except (ValueError, OSError, KeyError):
            image = np.random.default_rng(0).gamma(2.0, 50.0, (64,) * nd).astype(np.float32)
    from ..inference._input import to_channel_first
    arr, _ = to_channel_first(image, None)
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != nd + 1 or arr.shape[0] != c:
        raise ValueError(f"the test image has shape {tuple(arr.shape)} (channels first); the model "
                         f"needs {c} channel(s) and {nd} spatial axes")
    m = int(getattr(model.net, "size_multiple", 1))
    want = list(info.patch_size or [64] * nd)[-nd:]
    size = [max(m, min(w, s) // m * m) for w, s in zip(want, arr.shape[1:])]
    if any(s < m for s in arr.shape[1:]):
        raise ValueError(f"the test image {tuple(arr.shape[1:])} is smaller than the model's "
                         f"minimum size {m}")
    # the most varied window on a half-window grid: a test pair (and cover) that shows objects
    grids = [range(0, s - z + 1, max(1, z // 2)) for s, z in zip(arr.shape[1:], size)]
    best, crop = -1.0, None
    for start in np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, nd)[:4096]:
        win = arr[(slice(None),) + tuple(slice(a, a + z) for a, z in zip(start, size))]
        spread = float(np.std(win))
        if spread > best:
            best, crop = spread, win
    return crop[None].astype(np.float32)


def _normalized(x: np.ndarray, norm: dict) -> np.ndarray:
    """The package preprocessing, computed by bioimg (per sample and channel)."""
    from ..preprocess import normalize
    settings = {k: v for k, v in norm.items() if k != "method"}
    method = norm.get("method", "percentile")
    if method in ("none", None):
        return x.astype(np.float32)
    out, _ = normalize(x[0], method, axis=0, **settings)
    return out[None].astype(np.float32)


def _forward(net, x: np.ndarray, task: str) -> np.ndarray:
    import autograd as torch
    with torch.no_grad():
        y = net(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    if task in ("segment", "instance", "classify"):
        e = np.exp(y - y.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
    return y.astype(np.float32)


def onnx_bytes(model, example: np.ndarray) -> bytes:
    """The network as ONNX (dynamic batch and spatial axes), traced on ``example``."""
    require("onnx")
    import autograd as torch
    import autograd.onnx as aonnx
    nd = model.ndim
    dyn = {0: "batch", **{2 + i: f"s{i}" for i in range(nd)}}
    out_dyn = {0: "batch"} if model.task == "classify" else dyn
    buf = io.BytesIO()
    aonnx.export(model.net, torch.from_numpy(example), buf, opset_version=OPSET,
                 input_names=[_rdf.INPUT_ID], output_names=[_rdf.OUTPUT_ID],
                 dynamic_axes={_rdf.INPUT_ID: dyn, _rdf.OUTPUT_ID: out_dyn})
    return buf.getvalue()


def _load(model):
    if isinstance(model, (str, Path)):
        from ..modelfile import load_model
        return load_model(model)
    return model


def export_model(model, output, *, fmt: str = "zip", image=None, name: str | None = None,
                 description: str | None = None, authors=None, license: str = "CC-BY-4.0",
                 cite=None, tags=(), pixel_size=None, unit: str | None = None) -> Path:
    """Write ``model`` as a bioimage.io package (``fmt='zip'``) or an ONNX file (``'onnx'``).

    Parameters
    ----------
    model : BioimgModel or path of a .bioimg file
    output : str or Path
        Written atomically.
    image : array or path, optional
        Where the test input is cropped from (default: the bundled nuclei sample).
    authors : list of str or dict, optional
        Default: the current user.
    cite : list of dict (``text`` and ``doi`` or ``url``), optional
        Default: the architecture's paper.
    pixel_size : sequence of float, optional
        Physical size of a pixel per spatial axis (default: from the model, else 1).
    unit : str, optional
        Unit of ``pixel_size`` (``um``, ``nm``, ...).

    Returns
    -------
    Path
    """
    from ..io._atomic import atomic_file

    model = _load(model)
    info, nd = model.info, model.ndim
    if fmt not in ("zip", "onnx"):
        raise ValueError(f"--format must be zip or onnx, got {fmt!r}")
    if "volume" in (info.extra or {}):
        raise ValueError("slice-wise volume models (resampled 3D via a 2D network) cannot be "
                         "described as a bioimage.io package yet; export a plain 2D/3D model")
    if isinstance(image, (str, Path)):
        from ..io import read
        image = read(image)
    raw = _test_image(model, image)
    x = _normalized(raw, info.normalization)
    data = onnx_bytes(model, x)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        with atomic_file(output) as fh:
            fh.write(data)
        return output
    y = _forward(model.net, x, info.task)
    _check_onnxruntime(data, x, y, info.task)
    # physical pixel size: the option, else the model's, else the test image's (unit known)
    known = (info.extra or {}).get("pixel_size")
    if not known and getattr(image, "unit", "pixel") not in ("pixel", None):
        known, unit = list(image.spacing)[-nd:], unit or image.unit
    scale = [float(s) for s in (pixel_size or known or [1.0] * nd)]
    if len(scale) == 1:
        scale *= nd
    if len(scale) != nd or min(scale) <= 0:
        raise ValueError(f"--pixel-size needs {nd} positive values (one per spatial axis), got {scale}")
    name = name or f"bioimg {info.task} {info.architecture} {nd}D"
    description = description or f"{info.task} model ({info.architecture}, {nd}D) trained with bioimg."
    files = {"weights": "weights.onnx", "test_input": "test_input.npy",
             "test_output": "test_output.npy", "documentation": "README.md", "cover": "cover.png",
             "sample_input": "sample_input.tif", "sample_output": "sample_output.tif"}
    norm_text = json.dumps(info.normalization or {"method": "percentile"})
    blobs = {"weights": data, "test_input": _npy(raw), "test_output": _npy(y),
             "documentation": readme(info, name, description, norm_text).encode(),
             "cover": cover_png(raw, y, info.task, nd),
             # human-viewable samples (FAIR): the test pair as TIFF, singleton axes dropped
             "sample_input": _tif(raw[0, 0] if raw.shape[1] == 1 else raw[0]),
             "sample_output": _tif(y[0]) if info.task != "classify" else b""}
    if info.task == "classify":  # a probability vector is no image
        del files["sample_output"], blobs["sample_output"]
    authors = [a if isinstance(a, dict) else {"name": str(a)}
               for a in (authors or [getpass.getuser() or "bioimg user"])]
    bio_cfg = {"task": info.task, "architecture": info.architecture, "config": info.config,
               "axes": info.axes, "patch_size": list(info.patch_size),
               "normalization": info.normalization, "class_names": list(info.class_names),
               "extra": {k: v for k, v in (info.extra or {}).items()
                         if k in ("label_kind", "label_offset", "seed")}}
    rdf = _rdf.build_rdf(
        info, name=name, description=description, authors=authors, license=license,
        cite=list(cite or _rdf.default_cite(info.architecture)), tags=list(tags), scale=scale,
        unit=_rdf.unit_name(unit or (info.extra or {}).get("unit")),
        multiple=int(getattr(model.net, "size_multiple", 1)),
        in_channels=raw.shape[1], out_channels=y.shape[1],
        files={k: (files[k], _sha(blobs[k])) for k in files}, onnx_sha=_sha(data), opset=OPSET,
        extra_config=bio_cfg)
    yaml = require("yaml")
    text = yaml.safe_dump(json.loads(json.dumps(rdf)), sort_keys=False, allow_unicode=True)
    with atomic_file(output) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rdf.yaml", text)
        for key, fname in files.items():
            zf.writestr(fname, blobs[key])
    return output


def _check_onnxruntime(data: bytes, x: np.ndarray, y: np.ndarray, task: str) -> None:
    """The exported graph must reproduce the engine (a silent mismatch would ship wrong weights)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {_rdf.INPUT_ID: x})[0]
    if task in ("segment", "instance", "classify"):
        e = np.exp(got - got.max(axis=1, keepdims=True))
        got = e / e.sum(axis=1, keepdims=True)
    err = float(np.max(np.abs(got - y))) if got.shape == y.shape else float("inf")
    if not err <= 1e-4:
        raise ValueError(f"ONNX export check failed: onnxruntime differs from bioimg by {err:.3g}")
