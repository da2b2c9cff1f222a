"""Devices and memory formats: the CPU-only device surface (``torch.device``, ``.to(...)``).

The engine computes with numpy on the CPU. Programs written for PyTorch still
name devices (``torch.device("cuda" if torch.cuda.is_available() else "cpu")``,
``model.to(device)``), so devices exist as values, and any attempt to *place*
data on a non-CPU device raises one clear error instead of silently running
somewhere else.
"""
from __future__ import annotations

import numpy as np

__all__ = ["device", "memory_format", "channels_last", "channels_last_3d", "contiguous_format",
           "preserve_format", "parse_to_args", "check_cpu", "cpu_only_error"]

# PyTorch's device type names, so a misspelt name is rejected as PyTorch rejects it
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:  # noqa: N801 - PyTorch's name
    """A device name: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 1)``.

    Any PyTorch device type can be *named* (so configuration code runs), but only
    ``cpu`` can hold tensors. A device compares equal to another device with the
    same type and index, and (unlike PyTorch, for convenience) to its string form.

    Examples
    --------
    >>> import autograd as torch
    >>> d = torch.device("cuda", 0)
    >>> d.type, d.index, str(d)
    ('cuda', 0, 'cuda:0')
    >>> torch.zeros(1).device == torch.device("cpu")
    True
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type=None, index: int | None = None):  # noqa: A002 - PyTorch's keyword
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            raise RuntimeError(f"device({int(type)}): an integer names an accelerator device, and "
                               "none is available (autograd runs on the CPU)")
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu' (got {type!r})")
        name, sep, idx = type.strip().partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device "
                               f"string: {type}")
        if sep:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and (not isinstance(index, (int, np.integer)) or index < 0):
            raise RuntimeError(f"Device index must not be negative (got {index!r})")
        self._type, self._index = name, None if index is None else int(index)

    @property
    def type(self) -> str:  # noqa: A003
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        idx = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{idx})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self):
        return (device, (self._type, self._index))

    # ``with torch.device("cpu"):`` sets PyTorch's default device; cpu is already the default here
    def __enter__(self) -> "device":
        check_cpu(self)
        return self

    def __exit__(self, *exc) -> None:
        return None


CPU = device("cpu")


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout tag. numpy arrays here are always row-major, so every format is accepted
    and gives the same (contiguous) values; only the layout in memory is unaffected."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def cpu_only_error(what) -> RuntimeError:
    """The one error for every request to use a non-CPU device."""
    return RuntimeError(
        f"device {str(what)!r} is not available: autograd runs on the CPU only. Pick the device as "
        "`torch.device('cuda' if torch.cuda.is_available() else 'cpu')`, or use 'cpu'")


def check_cpu(dev) -> device:
    """``dev`` as a device, raising the CPU-only error unless it is the CPU."""
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise cpu_only_error(d)
    return d


def _is_dtype(a) -> bool:
    if isinstance(a, np.dtype):
        return True
    return isinstance(a, type) and issubclass(a, (np.generic, float, int, bool))


def parse_to_args(args: tuple, kwargs: dict, dtype=None, tensor_type=None):
    """Parse PyTorch's ``to`` signatures into ``(dtype or None, copy)``, checking the device.

    Accepted: ``to(dtype)``, ``to(device, dtype=None)``, ``to(other_tensor)``, and the keywords
    ``device``, ``dtype``, ``non_blocking``, ``copy``, ``memory_format``.
    """
    kw = dict(kwargs)
    dev = kw.pop("device", None)
    copy = bool(kw.pop("copy", False))
    kw.pop("non_blocking", None)
    mf = kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"to() got an unexpected keyword argument {next(iter(kw))!r}")
    if mf is not None and not isinstance(mf, memory_format):
        raise TypeError(f"to(): memory_format must be a torch.memory_format (got {mf!r})")
    positional = list(args)
    # trailing positional booleans are non_blocking, copy
    bools = []
    while positional and isinstance(positional[-1], bool):
        bools.insert(0, positional.pop())
    if len(bools) == 2:
        copy = copy or bools[1]
    for a in positional:
        if tensor_type is not None and isinstance(a, tensor_type):
            dtype = a.dtype
        elif isinstance(a, str) and a.split(":")[0] not in _TYPES:
            try:  # a dtype spelt as a string ('float32') is accepted, as numpy does
                dtype = np.dtype(a)
            except TypeError:
                device(a)  # raises PyTorch's "Expected one of cpu, cuda, ..." error
        elif isinstance(a, (device, str)) or (isinstance(a, (int, np.integer)) and not _is_dtype(a)):
            dev = a
        elif a is not None:
            dtype = a
    if dev is not None:
        check_cpu(dev)
    return dtype, copy
