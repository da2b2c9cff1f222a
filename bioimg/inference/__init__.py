"""Inference: the one tiled engine, post-processing to labels, and ``predict``."""
from .engine import blend_window
from .postprocess import class_labels, instances_from_probs
from .predict import Prediction, predict
from .stitch import instances_blockwise
from .tiling import predict_tiled

__all__ = ["Prediction", "predict", "predict_tiled", "blend_window", "class_labels",
           "instances_from_probs", "instances_blockwise"]
