"""``torch.autocast``: accepted, and never changes a dtype.

PyTorch's autocast runs chosen ops in float16/bfloat16. On a CPU-only build it
disables itself for ``"cuda"`` with a warning; for ``"cpu"`` it would compute in
bfloat16, which numpy lacks. Here both are disabled with a warning, so results
stay in float32 (more precise than PyTorch's, never wrong).
"""
from __future__ import annotations

import functools
import warnings

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]

_DEVICE_TYPES = ("cpu", "cuda", "xpu", "mps", "hpu", "xla", "mtia", "ipu", "privateuseone")


def is_autocast_available(device_type: str) -> bool:
    return False


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager and decorator; ops inside keep their dtypes (see the module docstring).

    Parameters
    ----------
    device_type : str
        ``"cuda"``, ``"cpu"`` ... (a string, as in PyTorch).
    dtype : dtype, optional
        The low-precision dtype PyTorch would use; accepted and ignored.
    enabled : bool
        ``False`` is the exact PyTorch behaviour; ``True`` warns that autocast is disabled.
    cache_enabled : bool, optional
        Accepted and ignored.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast(): enabled must be a bool (got {enabled!r})")
        self.device = device_type
        self.fast_dtype = dtype
        if enabled:
            warnings.warn(f"autocast('{device_type}') is disabled: autograd runs on the CPU in the "
                          "inputs' dtype (float32), with no float16/bfloat16 autocast", UserWarning,
                          stacklevel=2)
        self._enabled = False

    def __enter__(self) -> "autocast":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


def custom_fwd(fwd=None, *, device_type: str = "cuda", cast_inputs=None):
    """Decorator for ``Function.forward`` under autocast: nothing to do here."""
    if fwd is None:
        return lambda f: f
    return fwd


def custom_bwd(bwd=None, *, device_type: str = "cuda"):
    """Decorator for ``Function.backward`` under autocast: nothing to do here."""
    if bwd is None:
        return lambda f: f
    return bwd
