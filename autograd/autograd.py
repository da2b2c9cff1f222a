"""``torch.autograd`` names: ``autograd.autograd.grad``, ``.Function``, ``.gradcheck`` ..."""
from ._engine import backward, grad  # noqa: F401
from ._function import Function, FunctionCtx, once_differentiable  # noqa: F401
from ._grad_mode import (detect_anomaly, enable_grad, is_anomaly_enabled,  # noqa: F401
                         is_grad_enabled, no_grad, set_detect_anomaly, set_grad_enabled)
from ._node import Node  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401

Variable = None  # PyTorch's removed Variable wrapper is not provided


class _Graph:
    Node = Node


graph = _Graph()
function = type("function", (), {"Function": Function, "FunctionCtx": FunctionCtx,
                                  "once_differentiable": once_differentiable})
