"""A small ONNX graph builder shared by the exporter's converters."""
from __future__ import annotations

import numpy as np


class UnsupportedOperatorError(RuntimeError):
    """The traced forward used an op the ONNX exporter/importer has no converter for."""


class GraphBuilder:
    """Collects nodes and initializers, hands out unique value names.

    ``name_of(tensor)`` is supplied by the tracer: it returns the ONNX value
    name of an engine Tensor (graph input, earlier op output, parameter or
    constant).
    """

    def __init__(self, opset: int, name_of):
        from onnx import helper

        self.helper = helper
        self.opset = opset
        self.name_of = name_of
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()
        self._counts: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        base = base or "v"
        n = self._counts.get(base, 0)
        name = base if n == 0 and base not in self._used else f"{base}_{n}"
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._counts[base] = n + 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._used:
            raise ValueError(f"ONNX export: duplicate value name {name!r}")
        self._used.add(name)
        return name

    def const(self, value, base: str = "const", dtype=np.float32) -> str:
        """Add an initializer (float32 unless ``dtype`` says otherwise)."""
        from onnx import numpy_helper

        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, base: str = "shape") -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), base, np.int64)

    def op(self, op_type: str, inputs, outputs: int | list[str] = 1, **attrs):
        """Append a node; returns its output name (or list of names)."""
        if isinstance(outputs, int):
            outs = [self.fresh(op_type.lower()) for _ in range(outputs)]
        else:
            outs = list(outputs)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, [i or "" for i in inputs], outs,
                                                name=self.fresh("n_" + op_type), **attrs))
        return outs[0] if len(outs) == 1 else outs
