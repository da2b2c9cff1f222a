"""Models that travel: bioimage.io model packages (spec 0.5, ONNX weights) and bare ONNX.

``export_model(model, "out.zip")`` writes a package any bioimage.io consumer
runs; ``is_package(path)`` / ``load_package(path)`` read one back as a
``BioimgModel`` for ``bioimg predict`` and ``bioimg train --init``.
``onnx``/``onnxruntime``/``bioimageio.core`` are optional (``bioimg[export]``)
and imported only here, when used.
"""
from __future__ import annotations

from ._export import export_model
from ._load import is_package, load_package

__all__ = ["export_model", "is_package", "load_package"]
