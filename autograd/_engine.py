"""The backward engine: ``Tensor.backward`` and ``autograd.grad``.

The graph is walked iteratively (no recursion, so a chain of 100,000 ops
works) in dependency order: a node runs once all its consumers have sent
their gradients, which are summed per output in a buffer.
"""
from __future__ import annotations

import numpy as np

from ._grad_mode import _state, is_anomaly_enabled
from ._node import _FREED_MSG, AccumulateGrad
from ._tensor import Tensor

_make = Tensor._make


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _make(np.ones(out._data.shape, dtype=out._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                    f"output[{i}] has a shape of {tuple(out.shape)}.")
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def _collect(roots):
    """Dependency counts: how many edges point into each node of the graph."""
    deps: dict = {}
    seen = set()
    stack = []
    for node in roots:
        if node not in seen:
            seen.add(node)
            stack.append(node)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _reaching(nodes, targets):
    """Nodes from which some target node can be reached (targets included)."""
    children = {n: [c for c, _ in n.next_functions if c is not None] for n in nodes}
    parents: dict = {}
    for n, cs in children.items():
        for c in cs:
            parents.setdefault(c, []).append(n)
    reach = set()
    stack = [t for t in targets if t in children]
    while stack:
        n = stack.pop()
        if n in reach:
            continue
        reach.add(n)
        stack.extend(parents.get(n, ()))
    return reach


def _accumulate(buf, index, g):
    cur = buf[index]
    buf[index] = g if cur is None else cur + g


def _run(roots, root_grads, retain_graph, create_graph, capture=None, accumulate=True):
    """Execute the backward graph from ``roots`` (list of (node, output_nr))."""
    root_nodes = [n for n, _ in roots]
    deps, nodes = _collect(root_nodes)
    executable = None
    if capture is not None:
        executable = _reaching(nodes, {n for n, _ in capture})
    buffers: dict = {}
    owned: dict = {}  # id -> gradient tensor whose buffer no one else holds
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node.num_outputs
        _accumulate(buf, nr, g)
    results = {}
    ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0]
    anomaly = is_anomaly_enabled()
    prev = _state.enabled
    _state.enabled = bool(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node.num_outputs
            if node._pre_hooks or node._retained:
                grads = _run_pre_hooks(node, grads)
            is_acc = isinstance(node, AccumulateGrad)
            if is_acc and grads[0] is not None and node.variable._hooks:
                grads[0] = _leaf_hooks(node.variable, grads[0])  # also seen by autograd.grad
            if capture is not None:
                for i, g in enumerate(grads):
                    key = (node, i)
                    if key in capture and g is not None:
                        results[key] = g if key not in results else results[key] + g
            if is_acc:
                if accumulate and grads[0] is not None:
                    g = grads[0]
                    own = owned.pop(id(g), None) is g and not (node._pre_hooks or node._retained
                                                               or node.variable._hooks)
                    _accumulate_leaf(node.variable, g, create_graph, own)
                continue
            run = executable is None or node in executable
            edges = node.next_functions
            if run and any(g is not None for g in grads):
                in_grads = _call_backward(node, grads, anomaly)
                fresh = node.fresh_grads and not (create_graph or node._post_hooks)
                if fresh:
                    ids = [id(g) for g in in_grads]
                if not retain_graph:
                    node.release()
            else:
                in_grads, fresh = (), False
            for i, (nxt, nr) in enumerate(edges):
                if nxt is None:
                    continue
                g = in_grads[i] if i < len(in_grads) else None
                if g is not None and run:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt.num_outputs
                    if buf[nr] is not None:  # summed into a new tensor
                        owned.pop(id(buf[nr]), None)
                    elif fresh and type(nxt) is AccumulateGrad and ids.count(id(g)) == 1:
                        owned[id(g)] = g
                    _accumulate(buf, nr, g)
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    ready.append(nxt)
    finally:
        _state.enabled = prev
    return results


def _run_pre_hooks(node, grads):
    hooks = node._pre_hooks
    if hooks:
        for index, fn in list(hooks):
            if index is None:
                new = fn(tuple(grads))
                if new is not None:
                    grads = list(new)
            elif grads[index] is not None:
                new = fn(grads[index])
                if new is not None:
                    grads[index] = new
    retained = node._retained
    if retained:
        for index, ref in retained.items():
            t = ref()
            g = grads[index]
            if t is not None and g is not None:
                g = g if _state.enabled else g.detach()
                t.grad = g if t.grad is None else t.grad + g
    return grads


def _call_backward(node, grads, anomaly):
    if node._freed:
        raise RuntimeError(_FREED_MSG)
    if node.num_outputs > 1:
        grads = [g if g is not None else _zeros_for(node, i) for i, g in enumerate(grads)]
    out = node.backward(*grads)
    if not isinstance(out, tuple):
        out = (out,)
    if anomaly:
        for i, g in enumerate(out):
            if g is not None and np.isnan(g._data).any():
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    post = node._post_hooks
    if post:
        for fn in post:
            new = fn(out, tuple(grads))
            if new is not None:
                out = tuple(new)
    return out


def _zeros_for(node, index):
    shape, dtype = node._out_shapes[index]
    return _make(np.zeros(shape, dtype=dtype))


def _leaf_hooks(leaf, g):
    for hook in list(leaf._hooks):
        new = hook(g)
        if new is not None:
            g = new
    return g


def _accumulate_leaf(leaf, g, create_graph, owned=False):
    """Add ``g`` into ``leaf.grad``; ``owned``: no one else holds ``g``'s buffer, keep it."""
    if g._data.shape != leaf._data.shape:
        raise RuntimeError(f"gradient of shape {tuple(g.shape)} does not match the leaf's shape "
                           f"{tuple(leaf.shape)}")
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g
        elif owned and g._data.dtype == leaf._data.dtype and g._data.base is None:
            leaf.grad = g
        else:  # own the buffer: the same grad object may reach several leaves
            leaf.grad = _make(np.array(g._data, dtype=leaf._data.dtype, copy=True))
    elif create_graph or leaf.grad._requires_grad:
        leaf.grad = leaf.grad + g
    else:
        np.add(leaf.grad._data, g._data, out=leaf.grad._data, casting="unsafe")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute the sum of gradients of ``tensors`` w.r.t. graph leaves into ``.grad``."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_grads(tensors, grad_tensors, create_graph)
    roots = [t._grad_edge() for t in tensors]
    if inputs is None:
        _run(roots, grads, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    edges = [t._grad_edge() for t in inputs]
    got = _run(roots, grads, retain_graph, create_graph, capture=set(edges), accumulate=False)
    for t, e in zip(inputs, edges):
        g = got.get(e)
        if g is None:
            continue
        if t.is_leaf:
            _accumulate_leaf(t, g, create_graph)
        else:
            g = g if create_graph else g.detach()
            t.grad = g if t.grad is None else t.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned instead of stored in ``.grad``."""
    outputs = _as_tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _root_grads(outputs, grad_outputs, create_graph)
    roots = [t._grad_edge() for t in outputs]
    edges = [t._grad_edge() for t in inputs]
    got = _run(roots, grads, retain_graph, create_graph, capture=set(edges), accumulate=False)
    result = []
    for t, e in zip(inputs, edges):
        g = got.get(e)
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = _make(np.zeros_like(t._data))
        result.append(g)
    return tuple(result)
