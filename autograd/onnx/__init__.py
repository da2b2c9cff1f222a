"""ONNX export and import for engine modules.

``export(module, args, f, ...)`` traces one forward and writes an ONNX graph
(opset 17+), shaped like ``torch.onnx.export``; ``load(path)`` builds an
engine ``Module`` from an ONNX graph made of the supported ops, with its
weights as trainable Parameters. Both need the optional ``onnx`` package,
imported only when called.
"""
from __future__ import annotations

from ._export import export
from ._graph import UnsupportedOperatorError

__all__ = ["export", "load", "UnsupportedOperatorError"]


def load(path):
    """Import an ONNX model file (or ModelProto/bytes) as an engine Module; see ``_import``."""
    from ._import import load as _load
    return _load(path)
