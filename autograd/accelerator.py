"""``torch.accelerator``: there is none (autograd runs on the CPU)."""
from __future__ import annotations

from ._device import cpu_only_error

__all__ = ["current_accelerator", "device_count", "is_available", "set_device_index", "synchronize"]


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    """``None``: no accelerator (so ``current_accelerator() or torch.device('cpu')`` picks the CPU)."""
    return None


def device_count() -> int:
    return 0


def current_device_index() -> int:
    raise cpu_only_error("accelerator")


def set_device_index(index) -> None:
    raise cpu_only_error("accelerator")


def synchronize(device=None) -> None:
    raise cpu_only_error("accelerator")
