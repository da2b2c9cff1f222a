"""Adam and AdamW (decoupled weight decay), with AMSGrad."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``), step for step as PyTorch's pseudo-code.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        \theta \leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\,
        \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    with ``v`` replaced by its running maximum when ``amsgrad``; weight decay is
    added to the gradient (L2), or, with ``decoupled_weight_decay`` (AdamW),
    applied as ``theta *= 1 - lr * weight_decay`` before the update.

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.tensor([1.0, -2.0]).requires_grad_()
    >>> opt = torch.optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, -1.9]
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step."""
        loss = self._closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group.get("decoupled_weight_decay", False)
            for p in group["params"]:
                if p.grad is None:
                    continue
                arr = p._data
                state = self.state[p]
                if not state:
                    state["step"] = self._step_tensor()
                    state["exp_avg"] = self._zeros(p)
                    state["exp_avg_sq"] = self._zeros(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = self._zeros(p)
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                if wd and decoupled:
                    np.multiply(arr, 1.0 - lr * wd, out=arr)
                g = self._grad(p, maximize, 0.0 if decoupled else wd)
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                t, t2 = self._tmp(arr, 2), self._tmp(arr, 3)
                self._lerp_(m, g, 1.0 - beta1, t)
                np.multiply(v, beta2, out=v)           # v.mul_(beta2).addcmul_(g, g, value=1-beta2)
                np.multiply(g, 1.0 - beta2, out=t)
                np.multiply(t, g, out=t)
                np.add(v, t, out=v)
                step_size = lr / (1.0 - beta1 ** step)
                bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
                if amsgrad:
                    vmax = state["max_exp_avg_sq"]._data
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                np.sqrt(v, out=t)                      # denom = sqrt(v) / sqrt(bc2) + eps
                np.divide(t, bias_correction2_sqrt, out=t)
                np.add(t, eps, out=t)
                np.multiply(m, -step_size, out=t2)     # p.addcdiv_(m, denom, value=-step_size)
                np.divide(t2, t, out=t2)
                np.add(arr, t2, out=arr)
                self._bump(p)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``; ``weight_decay=1e-2``).

    Examples
    --------
    >>> import autograd as torch
    >>> w = torch.ones(2).requires_grad_()
    >>> opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 0).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.95, 0.95]
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
