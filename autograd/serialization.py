"""``autograd.save`` / ``autograd.load``: a zip of ``.npy`` arrays plus a JSON manifest. Never pickle.

Format (version 1): ``manifest.json`` holds ``{"format": "autograd", "version": 1,
"root": NODE}``, and each array is an entry ``data/<n>.npy`` written by
``np.save(..., allow_pickle=False)``. A NODE is a JSON ``null``/``true``/``false``/
number/string for the Python scalar of that type, or an object tagged by ``"type"``:

- ``{"type": "float", "value": "nan" | "inf" | "-inf"}``: a non-finite float;
- ``{"type": "tensor" | "parameter", "data": NAME, "requires_grad": bool}``;
- ``{"type": "ndarray" | "numpy_scalar", "data": NAME}``;
- ``{"type": "list" | "tuple", "items": [NODE, ...]}``;
- ``{"type": "dict" | "OrderedDict", "items": [[KEY_NODE, NODE], ...]}``: keys keep
  their type (``int`` stays ``int``, tuples stay tuples).

Loading reads the manifest with ``json`` and each array with ``np.load(...,
allow_pickle=False)``; nothing in the file is ever executed. Any deviation (not
a zip, unknown or missing entries, object arrays, bad manifest) raises
``SerializationError``, a ``ValueError`` naming the file. Several references to
one array (tied weights) are stored once and share memory again after loading.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import zipfile
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ._tensor import Tensor

__all__ = ["SerializationError", "load", "save"]

FORMAT, VERSION = "autograd", 1
_MANIFEST = "manifest.json"
_ENTRY = re.compile(r"data/(0|[1-9][0-9]{0,8})\.npy")
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: equal objects give identical bytes
_SCALARS = (type(None), bool, int, str)


class SerializationError(ValueError):
    """The file is not a valid ``autograd.save`` archive."""


def _name(f) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return os.fsdecode(f)
    return str(getattr(f, "name", None) or f"<{type(f).__name__}>")


# -- saving ------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self._by_id: dict[int, str] = {}
        self._active: set[int] = set()

    def array(self, arr: np.ndarray, where: str) -> str:
        if arr.dtype.hasobject:
            raise TypeError(f"autograd.save: cannot save an object array at {where} (only numeric/bool dtypes)")
        key = id(arr)
        if key not in self._by_id:
            self._by_id[key] = f"data/{len(self.arrays)}.npy"
            self.arrays.append(arr)  # keeps arr alive, so its id is not reused while saving
        return self._by_id[key]

    def encode(self, obj, where: str = "obj"):
        if isinstance(obj, _SCALARS):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"type": "float", "value": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            kind = "parameter" if isinstance(obj, Parameter) else "tensor"
            return {"type": kind, "data": self.array(obj._data, where), "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", "data": self.array(obj, where)}
        if isinstance(obj, np.generic):
            return {"type": "numpy_scalar", "data": self.array(np.asarray(obj), where)}
        if isinstance(obj, (list, tuple, Mapping)):
            if id(obj) in self._active:
                raise ValueError(f"autograd.save: {where} contains itself (a reference cycle)")
            self._active.add(id(obj))
            try:
                if isinstance(obj, Mapping):
                    kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
                    items = [[self.encode(k, f"{where} key {k!r}"), self.encode(v, f"{where}[{k!r}]")]
                             for k, v in obj.items()]
                    return {"type": kind, "items": items}
                kind = "list" if isinstance(obj, list) else "tuple"
                return {"type": kind, "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
            finally:
                self._active.discard(id(obj))
        if hasattr(obj, "state_dict") and callable(obj.state_dict):
            # a whole Module/Optimizer would need pickle (code + state); its state_dict needs none
            raise TypeError(f"autograd.save: cannot save a whole {type(obj).__name__} at {where} (that needs "
                            "pickle, which is never used); save its weights instead: "
                            "torch.save(model.state_dict(), path), and restore them into a new model with "
                            "model.load_state_dict(...)")
        raise TypeError(f"autograd.save: cannot save {type(obj).__name__} at {where}: only tensors, numpy "
                        "arrays, dicts, lists, tuples and int/float/str/bool/None are supported (never pickle)")


def _write_zip(fileobj, manifest: bytes, arrays: list) -> None:
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zipfile.ZipInfo(_MANIFEST, _DATE), manifest)
        for i, arr in enumerate(arrays):
            with zf.open(zipfile.ZipInfo(f"data/{i}.npy", _DATE), "w", force_zip64=arr.nbytes > 2**30) as f:
                np.save(f, arr, allow_pickle=False)


def save(obj, f, pickle_module=None, pickle_protocol=None, **kwargs) -> None:
    """Save tensors/arrays in (nested) dicts, lists and tuples to the path or file object ``f``.

    Writing to a path is atomic: a temporary file in the same directory is
    written, flushed and then renamed over ``f``.

    Examples
    --------
    >>> import io
    >>> import autograd
    >>> buf = io.BytesIO()
    >>> autograd.save({"w": autograd.ones(2), "step": 3, "betas": (0.9, 0.999)}, buf)
    >>> _ = buf.seek(0)
    >>> autograd.load(buf)
    {'w': tensor([1., 1.]), 'step': 3, 'betas': (0.9, 0.999)}
    """
    enc = _Encoder()
    root = enc.encode(obj)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                          allow_nan=False, separators=(",", ":")).encode("utf-8")
    if not isinstance(f, (str, bytes, os.PathLike)):
        _write_zip(f, manifest, enc.arrays)
        return
    path = os.path.abspath(os.fsdecode(f))
    folder, base = os.path.split(path)
    tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_zip(fh, manifest, enc.arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- loading -----------------------------------------------------------------
class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, name: str):
        self.zf, self.name, self.used, self._arrays = zf, name, set(), {}

    def fail(self, msg: str):
        raise SerializationError(f"{self.name}: {msg}")

    def array(self, node: dict) -> np.ndarray:
        entry = node.get("data")
        if not isinstance(entry, str) or not _ENTRY.fullmatch(entry):
            self.fail(f"invalid array reference {entry!r} in the manifest")
        if entry not in self._arrays:
            try:
                info = self.zf.getinfo(entry)
            except KeyError:
                self.fail(f"the manifest references a missing entry {entry!r}")
            try:
                with self.zf.open(info) as fh:
                    self._check_header(fh, info.file_size, entry)
                with self.zf.open(info) as fh:
                    arr = np.load(fh, allow_pickle=False)
            except (ValueError, OSError, EOFError, RuntimeError, NotImplementedError,
                    zipfile.BadZipFile, zipfile.LargeZipFile) as e:
                if isinstance(e, SerializationError):
                    raise
                self.fail(f"entry {entry!r} is not a valid .npy array ({e})")
            if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
                self.fail(f"entry {entry!r} is not a plain numeric array")
            self._arrays[entry] = arr
            self.used.add(entry)
        return self._arrays[entry]

    def _check_header(self, fh, size: int, entry: str) -> None:
        """Refuse object dtypes and arrays larger than their entry before allocating anything."""
        fmt = np.lib.format
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            self.fail(f"entry {entry!r} has unsupported .npy version {version}")
        if dtype.hasobject:
            self.fail(f"entry {entry!r} is an object array (refused: loading it would need pickle)")
        if math.prod(shape) * dtype.itemsize > size - fh.tell():
            self.fail(f"entry {entry!r} is truncated: its header declares {list(shape)} {dtype} "
                      f"but the entry holds {size} bytes")

    def decode(self, node, depth: int = 0):
        if depth > 500:
            self.fail("the manifest is nested too deeply")
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if isinstance(node, float):
            return node
        if not isinstance(node, dict):
            self.fail(f"unexpected {type(node).__name__} node in the manifest")
        kind = node.get("type")
        if kind == "float":
            value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(node.get("value"))
            if value is None:
                self.fail(f"invalid float node {node!r}")
            return value
        if kind in ("tensor", "parameter"):
            arr = self.array(node)
            grad = node.get("requires_grad", False)
            if not isinstance(grad, bool) or (grad and arr.dtype.kind not in "fc"):
                self.fail(f"invalid requires_grad in {node!r}")
            if kind == "parameter":
                from .nn.parameter import Parameter
                return Parameter(arr, requires_grad=grad)
            return Tensor._make(arr, grad)
        if kind == "ndarray":
            return self.array(node)
        if kind == "numpy_scalar":
            arr = self.array(node)
            if arr.ndim != 0:
                self.fail("a numpy scalar entry is not 0-dimensional")
            return arr[()]
        items = node.get("items")
        if not isinstance(items, list):
            self.fail(f"unknown or malformed node {str(node)[:80]!r} in the manifest")
        if kind in ("list", "tuple"):
            out = [self.decode(v, depth + 1) for v in items]
            return out if kind == "list" else tuple(out)
        if kind in ("dict", "OrderedDict"):
            pairs = []
            for pair in items:
                if not isinstance(pair, list) or len(pair) != 2:
                    self.fail("malformed dict item in the manifest")
                key = self.decode(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    self.fail(f"unhashable dict key of type {type(key).__name__} in the manifest")
                pairs.append((key, self.decode(pair[1], depth + 1)))
            return OrderedDict(pairs) if kind == "OrderedDict" else dict(pairs)
        self.fail(f"unknown node type {kind!r} in the manifest")


def _read(fileobj, name: str):
    try:
        zf = zipfile.ZipFile(fileobj, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        raise SerializationError(f"{name}: not an autograd.save archive (not a readable zip file: {e})") from None
    with zf:
        names = zf.namelist()
        if len(names) != len(set(names)):
            raise SerializationError(f"{name}: duplicate entries in the archive")
        unknown = [n for n in names if n != _MANIFEST and not _ENTRY.fullmatch(n)]
        if unknown:
            raise SerializationError(f"{name}: unknown entries in the archive: {unknown[:5]}")
        if _MANIFEST not in names:
            raise SerializationError(f"{name}: not an autograd.save archive (no {_MANIFEST})")
        try:
            if zf.getinfo(_MANIFEST).file_size > 256 * 2**20:
                raise ValueError("manifest larger than 256 MiB")
            manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError, zipfile.BadZipFile, OSError, EOFError) as e:
            raise SerializationError(f"{name}: the manifest does not parse ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
            raise SerializationError(f"{name}: not an autograd.save archive (bad manifest header)")
        if manifest.get("version") != VERSION:
            raise SerializationError(f"{name}: unsupported format version {manifest.get('version')!r} "
                                     f"(this autograd reads version {VERSION})")
        dec = _Decoder(zf, name)
        try:
            obj = dec.decode(manifest["root"])
        except RecursionError:
            raise SerializationError(f"{name}: the manifest is nested too deeply") from None
        extra = sorted(set(names) - dec.used - {_MANIFEST})
        if extra:
            raise SerializationError(f"{name}: unknown entries in the archive (not in the manifest): {extra[:5]}")
        return obj


def _no_constant(value: str):
    raise ValueError(f"invalid JSON constant {value}")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **kwargs):
    """Load an object saved by ``autograd.save`` from a path or a binary file object.

    ``map_location``, ``weights_only`` and ``mmap`` are accepted for PyTorch
    compatibility; loading never runs code whatever they are.
    """
    name = _name(f)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return _read(fh, name)
    return _read(f, name)
