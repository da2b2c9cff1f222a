"""``torch.nn.parallel`` on one CPU process: ``DataParallel`` runs the module as is, DDP needs a process group."""
from __future__ import annotations

from .modules.module import Module

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


class DataParallel(Module):
    """Wraps ``module`` and calls it (with no GPUs, PyTorch's DataParallel does the same)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module, self.device_ids, self.output_device, self.dim = module, [], output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """``module(*inputs)`` (no devices to scatter to)."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    """Refused: there is no process group (see ``torch.distributed.is_available()``)."""

    def __init__(self, module: Module, *args, **kwargs):
        raise RuntimeError("DistributedDataParallel needs torch.distributed, which is not available: autograd "
                           "trains in one process on the CPU")
