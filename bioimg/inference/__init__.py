"""Inference: tiled prediction, post-processing to labels, and ``predict``."""
from .postprocess import class_labels, instances_from_probs
from .predict import Prediction, predict
from .tiling import blend_window, predict_tiled

__all__ = ["Prediction", "predict", "predict_tiled", "blend_window", "class_labels",
           "instances_from_probs"]
