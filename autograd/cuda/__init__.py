"""``torch.cuda`` on a CPU-only engine: queries answer "no CUDA", seeding is a no-op.

Training scripts ask ``torch.cuda.is_available()`` and seed CUDA unconditionally;
those calls work. Calls that need a GPU (``synchronize``, ``current_device``,
``get_device_name``, ``set_device``) raise the CPU-only error, as PyTorch built
without CUDA does.
"""
from __future__ import annotations

from .._device import cpu_only_error
from . import amp  # noqa: F401

__all__ = ["amp", "current_device", "device_count", "empty_cache", "get_device_name",
           "is_available", "is_bf16_supported", "is_initialized", "manual_seed", "manual_seed_all",
           "max_memory_allocated", "memory_allocated", "memory_reserved", "reset_peak_memory_stats",
           "seed", "seed_all", "set_device", "synchronize"]


def is_available() -> bool:
    """Always ``False``: autograd runs on the CPU."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No-op (there is no CUDA generator); seed the CPU with ``torch.manual_seed``."""
    int(seed)  # still rejects a non-number, as PyTorch does


def manual_seed_all(seed: int) -> None:
    int(seed)


def seed() -> None:
    return None


def seed_all() -> None:
    return None


def empty_cache() -> None:
    """Free the idle buffers of the caching allocator (``autograd._buffers``); as in
    PyTorch, memory in use is untouched."""
    from .. import _buffers
    _buffers.release()


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    return None


def synchronize(device=None) -> None:
    raise cpu_only_error("cuda")


def current_device() -> int:
    raise cpu_only_error("cuda")


def get_device_name(device=None) -> str:
    raise cpu_only_error("cuda")


def set_device(device) -> None:
    raise cpu_only_error(f"cuda:{device}" if isinstance(device, int) else device)
