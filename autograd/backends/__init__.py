"""``torch.backends``: settable flags with nothing behind them (no cuDNN, MPS or MKL-DNN here).

Scripts set ``torch.backends.cudnn.benchmark = True`` or ``deterministic = True``;
the values are kept (and read back) but change nothing: the numpy kernels are
deterministic already.
"""
from __future__ import annotations

import sys as _sys
import types as _types

__all__ = ["cpu", "cuda", "cudnn", "mkldnn", "mps", "openmp"]


class _Flags(_types.ModuleType):
    """A namespace whose flags can be set and read back."""

    def __init__(self, name: str, **flags):
        super().__init__(f"autograd.backends.{name}")
        self.__dict__.update(flags)


def _false(*args, **kwargs) -> bool:
    return False


cudnn = _Flags("cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
               benchmark_limit=10, is_available=_false, version=lambda: None)
mps = _Flags("mps", is_available=_false, is_built=_false)
mkldnn = _Flags("mkldnn", enabled=True, is_available=_false)
openmp = _Flags("openmp", is_available=_false)
cpu = _Flags("cpu", get_cpu_capability=lambda: "DEFAULT")
cuda = _Flags("cuda", is_built=_false, matmul=_Flags("cuda.matmul", allow_tf32=False,
                                                      allow_fp16_reduced_precision_reduction=True,
                                                      allow_bf16_reduced_precision_reduction=True),
              flash_sdp_enabled=_false, enable_flash_sdp=lambda enabled: None,
              enable_mem_efficient_sdp=lambda enabled: None, enable_math_sdp=lambda enabled: None)


# ``import torch.backends.cudnn as cudnn`` needs real entries in sys.modules
for _name, _mod in (("cpu", cpu), ("cuda", cuda), ("cudnn", cudnn), ("mkldnn", mkldnn), ("mps", mps),
                    ("openmp", openmp)):
    _sys.modules[f"{__name__}.{_name}"] = _mod
