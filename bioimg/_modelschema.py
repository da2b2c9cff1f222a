"""The schema of a ``.bioimg`` model file's ``config.json``, checked before anything is built.

A model file comes from somebody else: every field is checked for its type,
its range and the architecture's limits before a network is built or a
weight is inflated, so a small hostile file cannot ask for a 60-level or
100,000-channel network (gigabytes) or smuggle in values that only fail deep
inside the code. Each failure is one ``ModelFileError`` line naming the file
and the field.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

TASKS = ("segment", "instance", "classify", "denoise")
ARCHITECTURES = ("unet", "classifier", "autoencoder")
NORMS = ("batch", "group", "none")  # what bioimg.models builds (kept in step with models/_blocks.py)
MAX_DEPTH = 8
MAX_WIDTH = 1024
MAX_CHANNELS = 256           # input channels, output classes
MAX_PARAMETERS = 100_000_000  # 400 MB of float32: far above any model bioimg trains (~0.5-30 M)
MAX_WEIGHT_BYTES = 2 << 30   # absolute cap on what the weight table may make the loader inflate
MAX_WEIGHTS = 10_000         # arrays in the weight table
MAX_LIST = 100_000           # history entries, class names...
MAX_PATCH = 1 << 16
# Weight dtypes a model may hold: real numbers only (no object, complex, structured or float16/128),
# matched as the exact strings save_model writes, so np.dtype never parses a hostile string.
DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")

class SchemaError(ValueError):
    """One field of config.json is wrong (turned into a ``ModelFileError`` by the loader)."""


def _int(config: dict, key: str, low: int, high: int, default=None) -> int:
    value = config.get(key, default)
    # bool is an int in Python: "depth": true must not pass as 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{key} must be an integer, got {value!r}"[:200])
    if not low <= value <= high:
        raise SchemaError(f"{key} must be in {low}..{high}, got {value}")
    return value


def _printable(value, limit: int = 200) -> bool:
    return isinstance(value, str) and len(value) <= limit and value.isprintable()


def _number(value, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SchemaError(f"{key} must be a finite number, got {value!r}"[:200])
    if not low <= value <= high:
        raise SchemaError(f"{key} must be in {low}..{high}, got {value}")
    return float(value)


def _check_architecture(name: str, arch: dict) -> None:
    """Limits of the network's keyword arguments (only known keys: the builder gets nothing else)."""
    known = {"unet": {"in_channels", "out_channels", "ndim", "depth", "base_width", "norm", "dropout", "skip",
                      "kind"},
             "autoencoder": {"in_channels", "out_channels", "ndim", "depth", "base_width", "norm", "dropout",
                             "skip", "kind"},
             "classifier": {"in_channels", "num_classes", "ndim", "widths", "norm", "dropout"}}[name]
    unknown = sorted(set(arch) - known)
    if unknown:
        raise SchemaError(f"unknown {name} setting {unknown[0]!r}"[:200])
    _int(arch, "ndim", 2, 3, 2)
    _int(arch, "in_channels", 1, MAX_CHANNELS, 1)
    if name == "classifier":
        _int(arch, "num_classes", 1, MAX_CHANNELS, 2)
        widths = arch.get("widths", [16, 32, 64])
        if not isinstance(widths, list) or not 1 <= len(widths) <= MAX_DEPTH:
            raise SchemaError(f"widths must be a list of 1..{MAX_DEPTH} integers")
        for w in widths:
            _int({"widths": w}, "widths", 1, MAX_WIDTH)
    else:
        _int(arch, "out_channels", 1, MAX_CHANNELS, 2)
        _int(arch, "depth", 1, MAX_DEPTH, 3)
        _int(arch, "base_width", 1, MAX_WIDTH, 16)
        # widths double per level: base_width * 2**depth channels at the bottom
        if arch.get("base_width", 16) * 2 ** arch.get("depth", 3) > 16 * MAX_WIDTH:
            raise SchemaError("base_width * 2**depth is too large for a model bioimg can run")
        if "skip" in arch and not isinstance(arch["skip"], bool):
            raise SchemaError("skip must be true or false")
    estimate = estimate_parameters(name, arch)
    if estimate > MAX_PARAMETERS:
        raise SchemaError(f"the {name} would have ~{estimate:,} parameters (more than {MAX_PARAMETERS:,})")
    if "norm" in arch and arch["norm"] not in NORMS:
        raise SchemaError(f"norm must be one of {NORMS}, got {arch['norm']!r}"[:200])
    if "dropout" in arch:
        _number(arch["dropout"], "dropout", 0.0, 1.0)


def estimate_parameters(name: str, arch: dict) -> int:
    """Convolution weights the network would allocate (within ~1 %), from its already range-checked config.

    Checked before ``build_model`` so an allowed-looking combination (depth 3,
    base_width 1024: 8192 channels at the bottom) cannot allocate gigabytes.
    """
    k = 3 ** arch.get("ndim", 2)
    cin = arch.get("in_channels", 1)
    if name == "classifier":
        total = 0
        for w in arch.get("widths", [16, 32, 64]):
            total += k * (cin * w + w * w)
            cin = w
        return total + cin * arch.get("num_classes", 2)
    widths = [arch.get("base_width", 16) * 2 ** i for i in range(arch.get("depth", 3) + 1)]
    total = 0
    for w in widths:  # encoder blocks and the bottom: two 3^ndim convolutions each
        total += k * (cin * w + w * w)
        cin = w
    for w_hi, w in zip(widths[:0:-1], widths[-2::-1]):  # transposed conv up, merge block
        total += (2 ** arch.get("ndim", 2)) * w_hi * w + k * (2 * w * w + w * w)
    return total + widths[0] * arch.get("out_channels", 2)


def _check_weights(table) -> None:
    if not isinstance(table, dict) or not table:
        raise SchemaError("config.json has no weight table")
    if len(table) > MAX_WEIGHTS:
        raise SchemaError(f"the weight table lists {len(table)} arrays (more than {MAX_WEIGHTS})")
    count = total = 0  # values, bytes
    for key, meta in table.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("file"), str) \
                or not isinstance(meta.get("sha256"), str) or not isinstance(meta.get("shape"), list) \
                or not isinstance(meta.get("dtype"), str):
            raise SchemaError(f"weight {key!r} has no file, sha256, shape and dtype"[:200])
        if meta["dtype"] not in DTYPES:
            raise SchemaError(f"weight {key!r} is {meta['dtype']!r}, not a real number array "
                              f"(one of {', '.join(DTYPES)})"[:200])
        shape = meta["shape"]
        if len(shape) > 6 or any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_PARAMETERS
                                 for s in shape):
            raise SchemaError(f"weight {key!r} has an invalid shape {shape!r}"[:200])
        count += math.prod(shape)
        total += math.prod(shape) * np.dtype(meta["dtype"]).itemsize
        if count > MAX_PARAMETERS or total > MAX_WEIGHT_BYTES:
            raise SchemaError(f"the weights hold more than {MAX_PARAMETERS:,} values or "
                              f"{MAX_WEIGHT_BYTES >> 30} GiB")


def validate_config(config, version: int) -> None:
    """Check a parsed ``config.json`` (raises :class:`SchemaError` naming the field).

    Parameters
    ----------
    config : object
        What ``json.loads`` returned.
    version : int
        The model file version this bioimg reads.
    """
    if not isinstance(config, dict):
        raise SchemaError("config.json is not an object")
    v = config.get("version")
    if isinstance(v, bool) or v != version:
        raise SchemaError(f"model file version {v!r} is not supported (this bioimg reads version {version})"[:200])
    if config.get("task") not in TASKS:
        raise SchemaError(f"unknown task {config.get('task')!r} (one of {', '.join(TASKS)})"[:200])
    name = config.get("architecture")
    if name not in ARCHITECTURES:
        raise SchemaError(f"unknown architecture {name!r}"[:200])
    arch = config.get("config")
    if not isinstance(arch, dict):
        raise SchemaError("config is not an object")
    _check_architecture(name, arch)
    axes = config.get("axes", "YX")
    if axes not in ("YX", "ZYX") or len(axes) != arch.get("ndim", 2):
        raise SchemaError(f"axes must be 'YX' or 'ZYX' matching ndim, got {axes!r}"[:200])
    patch = config.get("patch_size", [])
    if not isinstance(patch, list) or len(patch) not in (0, len(axes)):
        raise SchemaError(f"patch_size must list {len(axes)} sizes, got {patch!r}"[:200])
    for p in patch:
        _int({"patch_size": p}, "patch_size", 1, MAX_PATCH)
    for key, kind in (("normalization", dict), ("extra", dict), ("class_names", list), ("history", list)):
        value = config.get(key, kind())
        if not isinstance(value, kind):
            raise SchemaError(f"{key} must be a{'n object' if kind is dict else ' list'}")
        if len(value) > MAX_LIST:
            raise SchemaError(f"{key} has {len(value)} entries (more than {MAX_LIST})")
    # names are printed (bioimg info, the GUI, output metadata): one printable line each
    if not all(_printable(c) or (isinstance(c, int) and not isinstance(c, bool))
               for c in config.get("class_names", [])):
        raise SchemaError("class_names must be short printable strings")
    names = config.get("class_names", [])
    if name == "classifier" and names and len(names) < arch.get("num_classes", 2):
        # prediction looks the winning class up by index: fewer names would be an IndexError there
        raise SchemaError(f"class_names lists {len(names)} names for {arch.get('num_classes', 2)} classes")
    if not all(isinstance(h, dict) for h in config.get("history", [])):
        raise SchemaError("history must be a list of objects")
    _check_normalization(config.get("normalization", {}))
    extra = config.get("extra", {})
    if "label_offset" in extra:
        _int(extra, "label_offset", 0, 1)
    if not _printable(extra.get("label_kind", "")):
        raise SchemaError("extra.label_kind must be a short printable string")
    _check_weights(config.get("weights"))


# The keyword arguments prediction passes to bioimg.preprocess.normalize for each method: anything
# else would be a TypeError deep inside prediction instead of a clear refusal here.
_NORM_KEYS = {"percentile": {"pmin", "pmax", "clip", "eps"}, "zscore": {"eps"}, "minmax": {"clip", "eps"},
              "none": set(), None: set()}


def _check_normalization(norm: dict) -> None:
    method = norm.get("method", "percentile")
    if not isinstance(method, (str, type(None))) or method not in _NORM_KEYS:
        raise SchemaError(f"normalization method {method!r} is not one of percentile, zscore, minmax, none"[:200])
    unknown = sorted(set(norm) - _NORM_KEYS[method] - {"method"})
    if unknown:
        raise SchemaError(f"unknown {method} normalization setting {unknown[0]!r}"[:200])
    for key in ("pmin", "pmax"):
        if key in norm:
            _number(norm[key], f"normalization {key}", 0.0, 100.0)
    if "eps" in norm:
        _number(norm["eps"], "normalization eps", 0.0, 1.0)
    if "clip" in norm and not isinstance(norm["clip"], bool):
        raise SchemaError("normalization clip must be true or false")


def describe(path: Path, exc: SchemaError) -> str:
    """The one-line message of a schema failure."""
    return f"{path}: invalid model file: {exc}"
