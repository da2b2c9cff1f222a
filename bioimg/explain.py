"""Input-gradient saliency: which pixels drive a prediction.

Computed with the engine's autograd: the gradient of the chosen class score
with respect to the (normalized) input image, as in Simonyan et al. 2014.
"""
from __future__ import annotations

import numpy as np

import autograd as torch

from .inference.postprocess import label_offset
from .modelfile import BioimgModel
from .training.prep import normalize_image, to_channel_first


def saliency(model: BioimgModel, image, *, axes: str | None = None, target: int | None = None,
             region=None, smooth: int = 0, seed: int = 0) -> np.ndarray:
    """|d score / d input| per pixel (max over channels), float32 with the image's spatial shape.

    Parameters
    ----------
    model : BioimgModel
    image : array or Image
    target : int, optional
        Class id (1..K, the model's ``class_names`` order) whose score is
        explained; default: the predicted class (classification) or each
        pixel's predicted class (segmentation; background excluded for
        instance models and models trained on dense masks, 0 = background).
    region : tuple of slices, optional
        Explain the score summed over this output region only (e.g. one
        object); default: the whole image.
    smooth : int
        SmoothGrad: average over this many noisy copies (0 = plain gradient).
    """
    arr, spatial = to_channel_first(image, axes)
    x, _ = normalize_image(arr, model.info.normalization)
    net = model.net
    net.eval()
    multiple = getattr(net, "size_multiple", 1)
    pads = [(0, 0)] + [(0, (-s) % multiple) for s in x.shape[1:]]
    xp = np.pad(x, pads, mode="reflect" if all(s > p for s, (_, p) in zip(x.shape[1:], pads[1:])) else "edge")
    rng = np.random.default_rng(seed)
    copies = max(1, smooth)
    total = np.zeros(xp.shape, dtype=np.float32)
    for _ in range(copies):
        noisy = xp + (0.1 * rng.standard_normal(xp.shape).astype(np.float32) if smooth else 0)
        inp = torch.tensor(noisy[None], requires_grad=True)
        out = net(inp)
        score = _score(model, out, target, region)
        score.backward()
        total += np.abs(inp.grad.numpy()[0])
    sal = (total / copies).max(axis=0)
    crop = tuple(slice(0, s) for s in x.shape[1:])
    return np.ascontiguousarray(sal[crop], dtype=np.float32)


def _score(model: BioimgModel, out, target, region):
    task = model.info.task
    if task == "classify":
        cls = int(out.detach().numpy()[0].argmax()) if target is None else int(target) - 1
        return out[0, cls]
    if task == "denoise":
        sel = out[0]
        return (sel[(slice(None),) + tuple(region)] if region else sel).sum()
    logits = out[0]
    k = logits.shape[0]
    if target is None:  # explain the predicted class of every (foreground) pixel
        pred = logits.detach().numpy().argmax(0)
        weights = (np.arange(k).reshape((k,) + (1,) * pred.ndim) == pred[None]).astype(np.float32)
        if task == "instance" or label_offset(model.info) == 0:  # channel 0 is background
            weights[0] = 0
    else:
        if not 1 <= int(target) <= k:
            raise ValueError(f"target class must be in 1..{k}, got {target}")
        weights = np.zeros(logits.shape, np.float32)
        weights[int(target) - 1] = 1
    if region is not None:
        keep = np.zeros(weights.shape, bool)
        keep[(slice(None),) + tuple(region)] = True
        weights[~keep] = 0
    return (logits * torch.from_numpy(weights)).sum()
