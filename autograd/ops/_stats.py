"""Statistics and numeric utilities: mode, quantile, cov/corrcoef, dist, pdist, frexp,
vander, combinations, cumulative_trapezoid, renorm, window functions."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._util import wrap_dim

_make = Tensor._make


_Mode = namedtuple("mode", ["values", "indices"])


def mode(x: Tensor, dim: int = -1, keepdim: bool = False):
    """Most frequent value along ``dim`` (the smallest on ties) and its last index."""
    from ._index import gather
    d = wrap_dim(dim, x._data.ndim)
    a = np.moveaxis(x._data, d, -1)
    flat = a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)
    idx = np.empty(flat.shape[0], dtype=np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]
        idx[r] = np.flatnonzero(row == best)[-1]
    idx = idx.reshape(a.shape[:-1] + (1,))
    idx = np.moveaxis(idx, -1, d) if x._data.ndim else idx.reshape(())
    if x._data.ndim == 0:
        return _Mode(x.clone(), _make(np.zeros((), np.int64)))
    values = gather(x, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _Mode(values, _make(idx))


def quantile(x: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
             _nan: bool = False) -> Tensor:
    """Quantiles ``q`` (a float or 1-D tensor in [0, 1]) along ``dim`` (all elements if None)."""
    from ._reduce import sort
    from ._shape import stack
    qs = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)
    if x._data.dtype.kind != "f":
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    src = x.reshape(-1) if dim is None else x
    d = 0 if dim is None else wrap_dim(dim, x._data.ndim)
    s = sort(src, d).values
    n = src._data.shape[d]
    outs = []
    for qq in np.atleast_1d(qs).astype(np.float64):
        pos = qq * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = int(np.round(pos))  # numpy/torch round half to even
        a = s.narrow(d, lo, 1)
        b = s.narrow(d, hi, 1)
        if interpolation == "midpoint" and lo != hi:
            out = (a + b) * 0.5
        elif lo == hi or interpolation in ("lower", "higher", "nearest"):
            out = a
        else:
            out = a + (b - a) * (pos - lo)
        outs.append(out if keepdim and dim is not None else out.squeeze(d) if dim is not None else out.reshape(()))
    if qs.ndim == 0:
        res = outs[0]
    else:
        res = stack(outs, 0)
    if keepdim and dim is None:
        res = res.reshape(res.shape[:qs.ndim] + (1,) * x._data.ndim)
    return res


def nanquantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    if np.isnan(x._data).any():
        raise NotImplementedError("nanquantile with NaN values is not supported here")
    return quantile(x, q, dim, keepdim, interpolation=interpolation)


def nanmedian(x: Tensor, dim=None, keepdim: bool = False):
    from ._reduce import median
    if np.isnan(x._data).any():
        raise NotImplementedError("nanmedian with NaN values is not supported here")
    return median(x, dim, keepdim) if dim is not None else median(x)


def cov(x: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov(): fweights/aweights are not supported")
    m = x if x._data.ndim == 2 else x.reshape(1, -1)
    n = m._data.shape[1]
    c = m - m.mean(1, keepdim=True)
    out = (c @ c.mT) / max(n - correction, 0)
    return out if x._data.ndim == 2 else out.reshape(())


def corrcoef(x: Tensor) -> Tensor:
    from ._unary import sqrt
    c = cov(x)
    if c._data.ndim == 0:
        return c / c
    d = sqrt(c.diagonal())
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def dist(a: Tensor, b: Tensor, p: float = 2) -> Tensor:
    from ._reduce import norm
    return norm(a - b, p)


def vdot(a: Tensor, b: Tensor) -> Tensor:
    from ._linalg import dot
    return dot(a, b)


def pdist(x: Tensor, p: float = 2) -> Tensor:
    from ._extra import cdist
    n = x._data.shape[0]
    r, c = np.triu_indices(n, 1)
    return cdist(x, x, p)[(_make(r), _make(c))]


def frexp(x: Tensor):
    m, e = np.frexp(x._data)
    return namedtuple("frexp", ["mantissa", "exponent"])(_make(m), _make(e.astype(np.int32)))


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    from ._shape import stack
    n = x._data.shape[0] if N is None else N
    cols = [x ** k if k else x * 0 + 1 for k in range(n)]
    out = stack(cols, 1)
    return out if increasing else out.flip(1)


def unravel_index(indices, shape):
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    return tuple(_make(np.asarray(i, dtype=np.int64)) for i in np.unravel_index(idx, tuple(shape)))


def combinations(x: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    import itertools
    n = x._data.shape[0]
    comb = (itertools.combinations_with_replacement if with_replacement else itertools.combinations)(range(n), r)
    idx = np.array(list(comb), dtype=np.int64).reshape(-1, r)
    return x[_make(idx.reshape(-1))].reshape(-1, r) if idx.size else _make(np.zeros((0, r), x._data.dtype))


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    from ._scan import cumsum
    d = wrap_dim(dim, y._data.ndim)
    m = y._data.shape[d]
    avg = (y.narrow(d, 1, m - 1) + y.narrow(d, 0, m - 1)) * 0.5
    if x is not None:
        from ._extra import diff
        avg = avg * diff(x, dim=-1 if x._data.ndim == 1 else d)
    elif dx is not None:
        avg = avg * dx
    return cumsum(avg, d)


def chain_matmul(*matrices) -> Tensor:
    from ._linalg_fns import multi_dot
    return multi_dot(matrices)


def renorm(x: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    from ._reduce import norm
    d = wrap_dim(dim, x._data.ndim)
    others = tuple(i for i in range(x._data.ndim) if i != d)
    from ._unary import where
    n = norm(x, p, others, keepdim=True)
    return x * where(n._data > maxnorm, maxnorm / (n + 1e-7), 1.0)


def _window(fn):
    def window(window_length: int, periodic: bool = True, *, dtype=None, **kw) -> Tensor:
        n = window_length + 1 if periodic else window_length
        w = fn(n)[:window_length] if window_length > 1 else np.ones(window_length)
        return _make(w.astype(dtype or _dtype.get_default_dtype()))
    return window


hann_window = _window(np.hanning)
hamming_window = _window(np.hamming)
blackman_window = _window(np.blackman)
bartlett_window = _window(np.bartlett)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, **kw):
    n = window_length + 1 if periodic else window_length
    w = np.kaiser(n, beta)[:window_length] if window_length > 1 else np.ones(window_length)
    return _make(w.astype(dtype or _dtype.get_default_dtype()))


__all__ = [n for n in dir() if not n.startswith('_') and n not in ('Tensor', 'namedtuple', 'np', 'wrap_dim', 'annotations')]
