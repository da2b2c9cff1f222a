"""Training: one loop for segmentation, instance segmentation, classification and denoising."""
from .config import TASKS, CancelToken, Progress, TrainConfig
from .labels import LABEL_KINDS, MAX_CLASSES, LabelPlan, interpret_labels
from .loop import Trainer, fit
from .targets import IGNORE, instance_targets, semantic_targets

__all__ = ["TASKS", "CancelToken", "Progress", "TrainConfig", "Trainer", "fit", "IGNORE",
           "instance_targets", "semantic_targets", "LABEL_KINDS", "MAX_CLASSES", "LabelPlan",
           "interpret_labels"]
