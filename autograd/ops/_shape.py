"""Shape ops: reshape, permute, cat/stack/split, flip, roll, repeat, pad."""
from __future__ import annotations

import numpy as np

from .. import _buffers
from .._apply import apply, apply_view
from .._node import Node
from .._tensor import Tensor
from ._arith import expand
from ._util import norm_dim, wrap_dim

_make = Tensor._make


class ViewBackward0(Node):
    def forward(self, x, shape):
        self.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}") from None

    def backward(self, g):
        return reshape(g, self.in_shape)


class PermuteBackward0(Node):
    def forward(self, x, dims):
        self.inv = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, g):
        return permute(g, self.inv)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x: Tensor, *shape) -> Tensor:
    shape = _shape_arg(shape)
    if shape == x._data.shape:
        return x
    return apply_view(ViewBackward0, x, shape)


view = reshape


def permute(x: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    nd = x._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim() "
                           f"= {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd) for d in dims) if nd else dims
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    if dims == tuple(range(nd)):
        return x
    return apply_view(PermuteBackward0, x, dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = x._data.ndim
    if nd == 0:
        return x
    dims = list(range(nd))
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, dims)


def movedim(x: Tensor, source, destination) -> Tensor:
    nd = x._data.ndim
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should "
                           f"contain the same number of dims as destination ({dst} dims)")
    src = [wrap_dim(d, nd) for d in src]
    dst = [wrap_dim(d, nd) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in `source` or `destination`")
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    return permute(x, [o if o is not None else next(rest) for o in order])


def t(x: Tensor) -> Tensor:
    if x._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x._data.ndim}D")
    return transpose(x, 0, 1) if x._data.ndim == 2 else x


def squeeze(x: Tensor, dim=None) -> Tensor:
    shape = x._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = norm_dim(dim, x._data.ndim) if x._data.ndim else ()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(x, new)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    nd = x._data.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd - 1}, {nd}], but got {dim})")
    dim = dim % (nd + 1)
    shape = x._data.shape
    return reshape(x, shape[:dim] + (1,) + shape[dim:])


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = x._data.shape
    if not shape:
        return reshape(x, (1,))
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = int(np.prod(shape[s:e + 1]))
    return reshape(x, shape[:s] + (n,) + shape[e + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    shape = x._data.shape
    dim = wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if -1 in sizes:  # one inferred size
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes = tuple(shape[dim] // max(known, 1) if s == -1 else s for s in sizes)
    if int(np.prod(sizes)) != shape[dim]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of "
                           f"dim {dim} ({shape[dim]}) in the input tensor")
    return reshape(x, shape[:dim] + sizes + shape[dim + 1:])


def expand_(x: Tensor, *sizes) -> Tensor:
    """``Tensor.expand``: -1 keeps a size; new leading dims allowed."""
    sizes = _shape_arg(sizes)
    shape = x._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({len(shape)})")
    full = tuple(shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes))
    for i, s in enumerate(shape):
        if s != 1 and s != full[i + lead]:
            raise RuntimeError(f"The expanded size of the tensor ({full[i + lead]}) must match the "
                               f"existing size ({s}) at non-singleton dimension {i + lead}. "
                               f"Target sizes: {list(sizes)}. Tensor sizes: {list(shape)}")
    return expand(x, full)


def broadcast_to(x: Tensor, shape) -> Tensor:
    return expand_(x, *tuple(shape))


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` (``torch.Tensor.repeat`` semantics), differentiably."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    shape = (1,) * (len(sizes) - x._data.ndim) + x._data.shape
    inter = []
    big = []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        big += [r, s]
    y = expand(reshape(x, tuple(inter)), tuple(big))
    return reshape(y, tuple(r * s for r, s in zip(sizes, shape)))


def tile(x: Tensor, dims) -> Tensor:
    dims = tuple(dims)
    dims = (1,) * (x._data.ndim - len(dims)) + dims
    return repeat(x, dims)


class CatBackward0(Node):
    def forward(self, *args):
        arrays, dim = args[:-1], args[-1]
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        try:
            if arrays and all(a.dtype == arrays[0].dtype and a.ndim == arrays[0].ndim for a in arrays):
                shape = list(arrays[0].shape)  # a mismatch elsewhere: concatenate says so
                shape[dim] = sum(self.sizes)
                return np.concatenate(arrays, axis=dim, out=_buffers.empty(shape, arrays[0].dtype))
            return np.concatenate(arrays, axis=dim)
        except ValueError as exc:
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dim}: "
                               f"{[tuple(a.shape) for a in arrays]} ({exc})") from None

    def backward(self, g):
        out, start = [], 0
        nd = g._data.ndim
        for size, (nxt, _) in zip(self.sizes, self.next_functions):
            if nxt is None:
                out.append(None)
            else:
                idx = (slice(None),) * self.dim + (slice(start, start + size),) + (slice(None),) * (nd - self.dim - 1)
                out.append(g[idx])
            start += size
        return tuple(out)


class _EmptyListError(ValueError, RuntimeError):
    """PyTorch raises ValueError here; older callers catch RuntimeError."""


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = [t for t in tensors]
    if not tensors:
        raise _EmptyListError("cat(): expected a non-empty list of Tensors")
    nd = tensors[0]._data.ndim
    dim = wrap_dim(dim, nd)
    dts = [t._data.dtype for t in tensors]
    floats = [d for d in dts if d.kind in "fc"]
    dt = np.result_type(*floats) if floats and len(floats) < len(dts) else np.result_type(*dts)
    tensors = [t if t._data.dtype == dt else (t.to(dt) if t._requires_grad else _make(t._data.astype(dt)))
               for t in tensors]
    return apply(CatBackward0, tuple(tensors), dim)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shapes = {tuple(t._data.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {sorted(shapes)}")
    nd = tensors[0]._data.ndim + 1
    dim = wrap_dim(dim, nd)
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def hstack(tensors):
    return cat(tensors, 1 if tensors[0]._data.ndim > 1 else 0)


def vstack(tensors):
    return cat([t if t._data.ndim > 1 else unsqueeze(t, 0) for t in tensors], 0)


def split(x: Tensor, split_size_or_sections, dim: int = 0):
    dim = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        bounds = [(s, min(s + step, n)) for s in range(0, n, step)] or [(0, 0)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got split_sizes={sizes}")
        starts = np.cumsum([0] + sizes[:-1])
        bounds = [(int(s), int(s) + k) for s, k in zip(starts, sizes)]
    pre = (slice(None),) * dim
    return tuple(x[pre + (slice(a, b),)] for a, b in bounds)


def chunk(x: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x._data.shape[dim]
    step = -(-n // chunks)
    return split(x, step, dim)


def tensor_split(x: Tensor, sections: int, dim: int = 0):
    parts = np.array_split(np.arange(x._data.shape[dim]), sections)
    return split(x, [len(p) for p in parts], dim)


def unbind(x: Tensor, dim: int = 0):
    dim = wrap_dim(dim, x._data.ndim)
    pre = (slice(None),) * dim
    return tuple(x[pre + (i,)] for i in range(x._data.shape[dim]))


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    dim = wrap_dim(dim, x._data.ndim)
    n = x._data.shape[dim]
    start = int(start) + (n if int(start) < 0 else 0)
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return x[(slice(None),) * dim + (slice(start, start + length),)]


class FlipBackward0(Node):
    def forward(self, x, dims):
        self.dims = dims
        return np.flip(x, dims)

    def backward(self, g):
        return apply(FlipBackward0, (g,), self.dims)


def flip(x: Tensor, *dims) -> Tensor:
    dims = dims[0] if len(dims) == 1 else dims  # flip(x, (0, 2)) or x.flip(0, 2)
    dims = norm_dim(dims, x._data.ndim)
    return apply(FlipBackward0, (x,), dims)


def fliplr(x): return flip(x, 1)
def flipud(x): return flip(x, 0)


def rot90(x: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    k %= 4
    d0, d1 = dims
    if k == 0:
        return x
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    return flip(transpose(x, d0, d1), d1)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    from ._index import take_axis
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), x._data.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = x
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    for s, d in zip(shifts, dims):
        d = wrap_dim(d, x._data.ndim)
        n = x._data.shape[d]
        if n == 0:
            continue
        out = take_axis(out, d % x._data.ndim, (np.arange(n) - s) % n)
    return out


from ._pad import ConstantPadBackward0, _pad_index, pad  # noqa: E402,F401


from ._util import np_aliases as _np_aliases  # noqa: E402

for _name in ("cat", "stack", "squeeze", "unsqueeze", "split", "chunk", "unbind", "narrow",
              "tensor_split"):
    globals()[_name] = _np_aliases(globals()[_name])
concat = concatenate = cat
