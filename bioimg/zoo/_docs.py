"""README and cover image of a bioimage.io package."""
from __future__ import annotations

import io

import numpy as np

_PALETTE = np.array([[0, 0, 0], [230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66],
                     [0, 114, 178], [213, 94, 0], [204, 121, 167]], np.uint8)

_WHAT_BIOIMG_ADDS = {
    "instance": "- **Instances**: the network predicts background / interior / boundary "
                "probabilities; `bioimg predict` turns them into labelled objects with a seeded "
                "watershed (seeds from the interior class, minimum object size), stitched across "
                "tiles. Other tools receive the three probability maps.",
    "segment": "- **Labels**: `bioimg predict` takes the most probable class per pixel "
               "(optionally keeping probabilities).",
    "classify": "- **Objects**: `bioimg predict` can classify crops around labelled objects.",
    "denoise": "- **Intensities**: `bioimg` maps the denoised output back to the input's "
               "intensity range (inverse of the input normalization); the package output is in "
               "normalized units.",
}


def readme(info, name: str, description: str, norm_text: str) -> str:
    """The package documentation: what the model does and what bioimg adds on top."""
    hist = info.history[-1] if info.history else {}
    trained = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in hist.items() if k in ("epoch", "loss", "val_loss", "val_metric"))
    lines = [
        f"# {name}", "", description, "",
        "## Model", "",
        f"- Task: **{info.task}**, architecture `{info.architecture}` "
        f"({', '.join(f'{k}={v}' for k, v in info.config.items())}).",
        f"- Axes: {info.axes}; training patch {info.patch_size}.",
        f"- Classes / channels: {', '.join(info.class_names) or 'image channels'}.",
        f"- Input normalization: {norm_text}.",
        f"- Last training epoch: {trained or 'n/a'}.", "",
        "Weights are ONNX (opset 17): any bioimage.io consumer (bioimageio.core, deepImageJ, "
        "ilastik, QuPath, ...) can run them with onnxruntime, no PyTorch needed.", "",
        "## What bioimg adds on top", "",
        "This package was exported by bioimg (`bioimg export`). Run inside bioimg "
        "(`bioimg predict --model THIS.zip`, or the napari plugin), the same weights also get:", "",
        "- **Tiling** of images of any size with overlapping tiles (sizes are multiples of "
        "the network's down-sampling factor), and NaN/inf pixels predicted as background.",
        _WHAT_BIOIMG_ADDS[info.task],
        "- **Fine-tuning**: `bioimg train --init THIS.zip` starts a new training run from these "
        "weights.", "",
        "## Validation", "",
        "At export, onnxruntime's output on the test input was checked against bioimg's own "
        "prediction (largest difference at most 1e-4); the test input/output pair in this package "
        "is what `bioimageio test` reproduces.", "",
    ]
    return "\n".join(lines)


def _gray(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img, (1, 99.8)) if img.size else (0, 1)
    g = np.clip((img - lo) / (hi - lo + 1e-12), 0, 1)
    return np.repeat((g * 255).astype(np.uint8)[..., None], 3, axis=-1)


def _mid(a: np.ndarray, nd: int) -> np.ndarray:
    """A 2D view: the middle plane of 3D data."""
    return a[a.shape[0] // 2] if nd == 3 else a


def cover_png(test_in: np.ndarray, test_out: np.ndarray, task: str, nd: int) -> bytes:
    """A 2:1 PNG: the test input (left) beside the prediction (right)."""
    from matplotlib.image import imsave

    left = _gray(_mid(test_in[0, 0], nd))
    h, w = left.shape[:2]
    if task == "classify":
        right = np.zeros_like(left)
        k = test_out.shape[1]
        for i, p in enumerate(test_out[0]):  # bar chart of the class probabilities
            x0, x1 = i * w // k, (i + 1) * w // k
            right[h - int(p * (h - 1)) - 1:, x0:max(x0 + 1, x1 - 1)] = _PALETTE[(i + 1) % 8]
    elif task == "denoise":
        right = _gray(_mid(test_out[0, 0], nd))
    else:
        prob = test_out[0] if nd == 2 else test_out[0][:, test_out.shape[2] // 2]
        labels = np.argmax(prob, axis=0)
        right = _PALETTE[labels % len(_PALETTE)]
        right = (0.5 * right + 0.5 * left).astype(np.uint8)
    img = np.concatenate([left, right], axis=1)
    k = max(1, -(-256 // img.shape[0]))  # at least 256 px high: pixels enlarged, not smoothed
    img = img.repeat(k, axis=0).repeat(k, axis=1)
    buf = io.BytesIO()
    imsave(buf, img, format="png")
    return buf.getvalue()
