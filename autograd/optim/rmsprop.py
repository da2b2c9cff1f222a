"""RMSprop (optionally centered, with momentum)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``), step for step as PyTorch's pseudo-code.

    .. math::
        v \leftarrow \alpha v + (1-\alpha) g^2,\quad
        \tilde v = v - \bar g^2 \text{ if centered},\quad
        b \leftarrow \mu b + g / (\sqrt{\tilde v} + \epsilon),\quad \theta \leftarrow \theta - \gamma b

    (without momentum ``theta -= lr * g / (sqrt(v~) + eps)``).

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.tensor([1.0]).requires_grad_()
    >>> opt = torch.optim.RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.98]
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not alpha >= 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            wd, momentum = float(group["weight_decay"]), float(group["momentum"])
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                arr = p._data
                state = self.state[p]
                if not state:
                    state["step"] = self._step_tensor()
                    state["square_avg"] = self._zeros(p)
                    if momentum > 0:
                        state["momentum_buffer"] = self._zeros(p)
                    if centered:
                        state["grad_avg"] = self._zeros(p)
                state["step"]._data += 1
                g = self._grad(p, maximize, wd)
                sq = state["square_avg"]._data
                t, avg = self._tmp(arr, 2), self._tmp(arr, 3)
                np.multiply(sq, alpha, out=sq)         # sq.mul_(alpha).addcmul_(g, g, value=1-alpha)
                np.multiply(g, 1.0 - alpha, out=t)
                np.multiply(t, g, out=t)
                np.add(sq, t, out=sq)
                if centered:
                    ga = state["grad_avg"]._data
                    self._lerp_(ga, g, 1.0 - alpha, t)
                    np.negative(ga, out=t)             # sq.addcmul(ga, ga, value=-1).sqrt_()
                    np.multiply(t, ga, out=t)
                    np.add(sq, t, out=avg)
                    np.sqrt(avg, out=avg)
                else:
                    np.sqrt(sq, out=avg)
                np.add(avg, eps, out=avg)
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    np.multiply(buf, momentum, out=buf)    # buf.mul_(momentum).addcdiv_(g, avg)
                    np.divide(g, avg, out=t)
                    np.add(buf, t, out=buf)
                    np.multiply(buf, lr, out=t)            # p.add_(buf, alpha=-lr)
                    np.subtract(arr, t, out=arr)
                else:
                    np.multiply(g, -lr, out=t)             # p.addcdiv_(g, avg, value=-lr)
                    np.divide(t, avg, out=t)
                    np.add(arr, t, out=arr)
                self._bump(p)
        return loss
