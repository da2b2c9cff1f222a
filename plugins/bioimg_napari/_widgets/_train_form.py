"""The Train widget's pure helpers: parse the form, format progress, spot pointless runs before they start."""
from __future__ import annotations

import numpy as np

from .._layers import layer_axes
from ._base import parse_sizes

TASKS = ("segment", "instance", "classify", "denoise")
LABEL_HINTS = {"segment": "class ids painted in a Labels layer (0 = unlabelled, 1..K = classes), or a mask",
               "instance": "instance masks (0 = background, one id per object)",
               "classify": "objects painted with their class id (1..K)",
               "denoise": "no labels needed (self-supervised)"}
# (shown text, TrainConfig.label_kind); the kinds are bioimg.training.labels.LABEL_KINDS
LABEL_KIND_CHOICES = (("auto", "auto"), ("sparse painting (0 = unlabelled)", "sparse"),
                      ("dense binary mask", "binary"), ("dense multi-class mask", "multiclass"),
                      ("dense instance mask", "instance"))
DEFAULT_BUDGET = 120.0  # seconds: a first model in two minutes; epochs x steps only bound it
CONTINUE_BUDGET = 30.0  # seconds: one round of "correct, then continue from the current model"


def parse_patch(text: str, ndim: int) -> tuple | None:
    """``""``/``"auto"`` -> None, ``"64"`` -> (64,) * ndim, ``"16,64,64"`` -> (16, 64, 64)."""
    return parse_sizes(text, ndim, "patch size", "64 or 16,64,64")


def model_kwargs(task: str, depth: int, base_width: int) -> dict:
    """Model size from the form (0 = the task's default), as ``TrainConfig.model_kwargs``."""
    if task == "classify":  # the CNN classifier is sized by its stage widths
        if not depth and not base_width:
            return {}
        return {"widths": tuple((base_width or 16) * 2 ** i for i in range(depth or 3))}
    return {k: v for k, v in (("depth", depth), ("base_width", base_width)) if v}


def spatial_shape(layer) -> tuple | None:
    """The Z/Y/X sizes of a layer's data (no channel or time axes); None when they cannot be told."""
    try:
        data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
        return tuple(int(s) for s, a in zip(data.shape, layer_axes(layer)) if a in "ZYX")
    except (ValueError, TypeError, AttributeError):
        return None


def is_painted(layer) -> bool:
    """Whether a Labels layer was made in napari (no source file): its 0 means "unlabelled"."""
    return not ((getattr(layer, "metadata", None) or {}).get("bioimg") or {}).get("source")


def clock(seconds: float | None) -> str:
    """``75.4`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    s = max(0, int(round(seconds or 0)))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def progress_text(event, budget: float | None, last_epoch=None) -> str:
    """One status line, e.g. ``"0:45 / 2:00 · ETA 1:15 · loss 0.31 · val mean IoU 0.78"``.

    With a time budget the budget is the yardstick; without one the epochs are.
    """
    parts = [f"{clock(event.elapsed)} / {clock(budget)}" if budget else clock(event.elapsed)]
    eta = getattr(event, "eta", None)
    if eta is not None:
        parts.append(f"ETA {clock(eta)}")
    if not budget:
        parts.append(f"epoch {event.epoch}/{event.epochs}")
    if event.loss == event.loss:  # not NaN
        parts.append(f"loss {event.loss:.3g}")
    if last_epoch is not None and last_epoch.val_metric is not None:
        parts.append(f"val {last_epoch.metric_name or 'metric'} {last_epoch.val_metric:.2f}")
    elif last_epoch is not None and last_epoch.val_loss is not None:
        parts.append(f"val loss {last_epoch.val_loss:.3g}")
    return " · ".join(parts)


def label_values(labels: np.ndarray) -> np.ndarray:
    """The distinct non-zero values of a label image (a histogram when they are small integers)."""
    flat = labels.reshape(-1)
    if flat.dtype.kind == "b":
        flat = flat.view(np.uint8)
    if flat.size and flat.dtype.kind in "iu" and flat.min() >= 0 and flat.max() < (1 << 24):
        values = np.flatnonzero(np.bincount(flat.astype(np.intp, copy=False)))
    else:
        values = np.unique(flat)
    return values[values != 0]


def pointless_run(task: str, kind: str, painted: bool, labels: np.ndarray | None, labels_name: str,
                  image_name: str, spatial: tuple, patch: tuple | None, depth: int) -> str | None:
    """Why a run would train nothing useful (a warning to show instead of starting), or None."""
    multiple = 2 ** (depth or (3 if len(spatial) == 2 else 2))
    need = patch or (multiple,) * len(spatial)
    if any(s < p for s, p in zip(spatial, need)):
        size, want = "x".join(map(str, spatial)), "x".join(map(str, need))
        fix = "choose a smaller patch size (Advanced)" if patch else "use a smaller depth (Advanced)"
        return f"image '{image_name}' ({size}) is smaller than the patch ({want}): {fix}"
    if labels is None:
        return None
    values = label_values(labels)
    if values.size == 0:
        return f"labels '{labels_name}' are empty: paint {LABEL_HINTS[task]}"
    sparse = kind == "sparse" or (kind == "auto" and painted)
    if task == "segment" and sparse and values.size < 2:
        return (f"only class {values[0]} is painted in '{labels_name}': paint at least two classes "
                "(e.g. 1 = background, 2 = objects)")
    if task == "classify" and values.size < 2:
        return f"only class {values[0]} is painted in '{labels_name}': classification needs two or more"
    return None


def correction_rule(original: np.ndarray | None, task: str):
    """``labels -> corrected-pixel mask`` against the labels as Predict made them (None: unknown).

    Instance labels count whole objects a user touched (all False when nothing changed:
    the labels are still a prediction, whose own outlines training leaves out).
    """
    if original is None:
        return None
    from bioimg.training.corrections import corrected_mask

    def rule(labels: np.ndarray):
        return corrected_mask(labels, original, objects=task == "instance")
    return rule
