"""Adagrad."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad``), step for step as PyTorch's pseudo-code.

    .. math::
        \tilde\gamma = \frac{\gamma}{1 + (t-1)\eta},\quad s \leftarrow s + g^2,\quad
        \theta \leftarrow \theta - \tilde\gamma\, \frac{g}{\sqrt{s} + \epsilon}

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.tensor([1.0]).requires_grad_()
    >>> opt = torch.optim.Adagrad([w], lr=0.5)
    >>> (w * 3).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.5]
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not lr_decay >= 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not initial_accumulator_value >= 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = self._step_tensor()
            state["sum"] = self._zeros(p, float(group["initial_accumulator_value"]))
        return state

    def step(self, closure=None):
        """Perform one optimization step."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
            eps, wd, maximize = float(group["eps"]), float(group["weight_decay"]), group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                arr = p._data
                state = self._init_state(p, group)
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                g = self._grad(p, maximize, wd)
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                t, std = self._tmp(arr, 2), self._tmp(arr, 3)
                np.multiply(g, g, out=t)               # sum.addcmul_(g, g, value=1)
                np.add(s, t, out=s)
                np.sqrt(s, out=std)
                np.add(std, eps, out=std)
                np.multiply(g, -clr, out=t)            # p.addcdiv_(g, std, value=-clr)
                np.divide(t, std, out=t)
                np.add(arr, t, out=arr)
                self._bump(p)
        return loss
