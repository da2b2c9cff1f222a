"""``torch.distributed`` as in a PyTorch build without distributed support.

Scripts import ``init_process_group`` at the top and call it only when launched
by a distributed launcher (``RANK`` set); ``is_available()`` tells them there is
no process group here, and every call that would need one raises clearly.
"""
from __future__ import annotations

__all__ = ["barrier", "destroy_process_group", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_initialized"]


def _unavailable(*args, **kwargs):
    raise RuntimeError("torch.distributed is not available: autograd trains in one process on the CPU")


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


init_process_group = destroy_process_group = barrier = all_reduce = broadcast = _unavailable
get_rank = get_world_size = _unavailable
