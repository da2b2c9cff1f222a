"""Finite-difference checks of analytical gradients (float64)."""
from __future__ import annotations

import warnings

import numpy as np

from ._engine import grad as _grad
from ._grad_mode import enable_grad, no_grad
from ._tensor import Tensor

_make = Tensor._make


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical Jacobians differ."""


def _as_tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _outputs(func, inputs):
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def _numerical(func, inputs, diff_idx, eps):
    """Jacobian blocks J[out][inp] of shape (out.size, inp.size) by central differences."""
    with no_grad():
        base = _outputs(func, inputs)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for i in diff_idx] for o in base]
    for k, i in enumerate(diff_idx):
        x = inputs[i]._data
        flat = x.reshape(-1) if x.flags.c_contiguous else None
        for j in range(x.size):
            idx = np.unravel_index(j, x.shape)
            orig = x[idx].copy()
            with no_grad():
                x[idx] = orig + eps
                plus = [o._data.astype(np.float64).copy() for o in _outputs(func, inputs)]
                x[idx] = orig - eps
                minus = [o._data.astype(np.float64).copy() for o in _outputs(func, inputs)]
                x[idx] = orig
            for oi, (p, m) in enumerate(zip(plus, minus)):
                jac[oi][k][:, j] = ((p - m) / (2 * eps)).reshape(-1)
        del flat
    return jac


def _analytical(func, inputs, diff_idx):
    outs = _outputs(func, inputs)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for i in diff_idx] for o in outs]
    targets = [inputs[i] for i in diff_idx]
    for oi, o in enumerate(outs):
        if not o._requires_grad:
            continue
        for j in range(o._data.size):
            g = np.zeros(o._data.shape, dtype=o._data.dtype)
            g.reshape(-1)[j] = 1
            grads = _grad([o], targets, [_make(g)], retain_graph=True, allow_unused=True)
            for k, gk in enumerate(grads):
                if gk is not None:
                    jac[oi][k][j, :] = gk._data.astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, fast_mode: bool = False,
              **unused) -> bool:
    """Compare autograd's Jacobian of ``func`` with central finite differences.

    Inputs that require grad should be float64. On mismatch, raises
    ``GradcheckError`` naming the output, the input and the worst element.

    Examples
    --------
    >>> import autograd as torch
    >>> x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(torch.sin, (x,))
    True
    """
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff_idx:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of double "
                          "precision floating point.", stacklevel=2)
    ana = _analytical(func, inputs, diff_idx)
    num = _numerical(func, inputs, diff_idx, eps)
    for oi, (arow, nrow) in enumerate(zip(ana, num)):
        for k, (a, n) in enumerate(zip(arow, nrow)):
            err = np.abs(a - n) - (atol + rtol * np.abs(n))
            if err.size and (err > 0).any() or not np.isfinite(a).all():
                j = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), err.shape)
                msg = (f"Jacobian mismatch for output {oi} with respect to input {diff_idx[k]}: worst at "
                       f"(output element {j[0]}, input element {j[1]}): numerical {n[j]:.6g}, "
                       f"analytical {a[j]:.6g} (|diff| {abs(a[j] - n[j]):.3g}, tolerance "
                       f"atol={atol} rtol={rtol}).\nnumerical:\n{n}\nanalytical:\n{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, **unused) -> bool:
    """Check second derivatives: gradcheck of the gradient computed with ``create_graph=True``."""
    inputs = _as_tuple(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t._requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_make(rng.standard_normal(o._data.shape).astype(o._data.dtype)).requires_grad_()
                             for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grad(*args):
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():  # the numerical pass runs ``first_grad`` under no_grad
            o = _outputs(func, ins)
            d = [t for t in ins if isinstance(t, Tensor) and t._requires_grad]
            gs = _grad(o, d, gos, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else _make(np.zeros(t._data.shape, t._data.dtype))
                     for g, t in zip(gs, d))

    del diff
    return gradcheck(first_grad, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
