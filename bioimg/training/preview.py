"""A running model's prediction on a region: the live preview of a training run.

:func:`preview` copies the network's current weights into a separate network
in eval mode (the training network keeps its mode, gradients and batch-norm
statistics untouched) and predicts one region of the already normalized
training image. The GUI calls it from the training worker every few seconds,
between two steps, and shows the result; nothing here knows about Qt.
"""
from __future__ import annotations

import numpy as np

import autograd as torch

from ..models import build_model
from .sampling import pad_to


def weights_copy(net) -> dict:
    """A snapshot of ``net``'s parameters and buffers (numpy copies)."""
    return {k: np.array(v.numpy(), copy=True) for k, v in net.state_dict().items()}


def preview(trainer, region: tuple, image_index: int = 0, weights: dict | None = None) -> np.ndarray:
    """Foreground probability (1 - p(class 0)) of the model being trained on ``region``.

    Parameters
    ----------
    trainer : Trainer
        A segment / instance trainer (its normalized images and architecture are used).
    region : tuple of slice
        Spatial slices of training image ``image_index``.
    weights : dict, optional
        A :func:`weights_copy`; by default the trainer's current weights are copied.

    Returns
    -------
    float32 array of the region's shape.
    """
    if trainer.config.task not in ("segment", "instance"):
        raise ValueError(f"no live preview for a {trainer.config.task} model")
    net = build_model(trainer.config.model, **trainer.model_kw)
    state = weights if weights is not None else weights_copy(trainer.net)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    net.eval()
    image = trainer.images[image_index]
    crop = image[(slice(None),) + tuple(region)]
    shape = crop.shape[1:]
    multiple = int(getattr(net, "size_multiple", 1))
    padded = tuple(-(-s // multiple) * multiple for s in shape)
    x = pad_to(crop, padded, lead=1)
    with torch.no_grad():
        logits = net(torch.from_numpy(np.ascontiguousarray(x[None], dtype=np.float32))).numpy()[0]
    logits = logits - logits.max(axis=0, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=0, keepdims=True)
    fg = 1.0 - p[0]
    return np.ascontiguousarray(fg[tuple(slice(0, s) for s in shape)], dtype=np.float32)
