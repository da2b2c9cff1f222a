"""PNG figures written by the demo: a label overlay and the learning curve."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def _atomic_savefig(fig, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def overlay_png(image: np.ndarray, labels: np.ndarray, path: Path, title: str = "",
                truth: np.ndarray | None = None) -> Path:
    """Image in grey with predicted object outlines (and ground truth, dashed, if given)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    lo, hi = np.percentile(image, (1, 99.8))
    fig, ax = plt.subplots(figsize=(8, 8 * image.shape[0] / image.shape[1] + 0.5))
    ax.imshow(np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1), cmap="gray")
    rgba = np.zeros(image.shape + (4,), dtype=np.float32)
    if truth is not None:
        rgba[find_boundaries(truth, mode="outer")] = (0.2, 0.6, 1.0, 0.9)
    rgba[find_boundaries(labels, mode="inner")] = (1.0, 0.85, 0.1, 1.0)
    ax.imshow(rgba)
    ax.set_title(title or "predicted objects (yellow)" + (", ground truth (blue)" if truth is not None else ""))
    ax.axis("off")
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path


def loss_curve_png(history: list[dict], path: Path, metric_name: str = "") -> Path:
    """Training and validation loss per epoch (and the validation metric on a second axis)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, [h["loss"] for h in history], "o-", label="training loss")
    if any(h.get("val_loss") is not None for h in history):
        ax.plot(epochs, [h.get("val_loss") for h in history], "s-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    lines, labels = ax.get_legend_handles_labels()
    if any(h.get("val_metric") is not None for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h.get("val_metric") for h in history], "^-", color="tab:green",
                 label=f"validation {metric_name}")
        ax2.set_ylabel(metric_name)
        l2, lab2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lab2
    ax.legend(lines, labels, loc="upper right")
    ax.set_title("learning curve")
    ax.grid(alpha=0.3)
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path
