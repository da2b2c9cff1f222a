"""Adadelta."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (``torch.optim.Adadelta``), step for step as PyTorch's pseudo-code.

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2,\quad
        \Delta = \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g,\quad
        u \leftarrow \rho u + (1-\rho)\Delta^2,\quad \theta \leftarrow \theta - \gamma \Delta

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.tensor([1.0]).requires_grad_()
    >>> opt = torch.optim.Adadelta([w], lr=1.0)
    >>> (w * 3).sum().backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]
    [0.996838]
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    _param_shaped_state = Optimizer._param_shaped_state | {"acc_delta"}

    def _init_state(self, p) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = self._step_tensor()
            state["square_avg"] = self._zeros(p)
            state["acc_delta"] = self._zeros(p)
        return state

    def step(self, closure=None):
        """Perform one optimization step."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            wd, maximize = float(group["weight_decay"]), group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                arr = p._data
                state = self._init_state(p)
                state["step"]._data += 1
                g = self._grad(p, maximize, wd)
                v, u = state["square_avg"]._data, state["acc_delta"]._data
                t, std, delta = self._tmp(arr, 2), self._tmp(arr, 3), self._tmp(arr, 4)
                np.multiply(v, rho, out=v)                 # square_avg.mul_(rho).addcmul_(g, g, 1 - rho)
                np.multiply(g, g, out=t)
                np.multiply(t, 1 - rho, out=t)
                np.add(v, t, out=v)
                np.add(v, eps, out=std)                    # std = (square_avg + eps).sqrt()
                np.sqrt(std, out=std)
                np.add(u, eps, out=delta)                  # delta = (acc_delta + eps).sqrt() / std * g
                np.sqrt(delta, out=delta)
                np.divide(delta, std, out=delta)
                np.multiply(delta, g, out=delta)
                np.multiply(u, rho, out=u)                 # acc_delta.mul_(rho).addcmul_(delta, delta, 1 - rho)
                np.multiply(delta, delta, out=t)
                np.multiply(t, 1 - rho, out=t)
                np.add(u, t, out=u)
                np.multiply(delta, -lr, out=delta)         # p.add_(delta, alpha=-lr)
                np.add(arr, delta, out=arr)
                self._bump(p)
        return loss
