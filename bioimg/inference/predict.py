"""Apply a trained model to an image: the one function the CLI and the GUI call."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import autograd as torch

from ..modelfile import BioimgModel
from ..training.crops import crop_at
from ..training.prep import image_name, normalize_finite, to_channel_first
from .postprocess import class_labels, instances_from_probs, label_offset, softmax
from .tiling import predict_tiled


@dataclass
class Prediction:
    """What a model produced for one image.

    ``labels``: class ids in the training labels' convention (segment: 0 =
    background, 1..K for dense masks; 1..K for sparse painting and older
    models), instance ids (instance) or the class
    of each object (classify with objects); ``probabilities``: (K, *spatial)
    or (K,) for image-level classification; ``image``: the denoised image in
    the input's intensity scale (denoise).
    """

    task: str
    labels: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    image: np.ndarray | None = None
    class_names: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def _denormalize(x: np.ndarray, params: dict) -> np.ndarray:
    """Map normalized intensities back to the input's scale (per channel)."""
    method = params.get("method")
    shape = (-1,) + (1,) * (x.ndim - 1)
    if method in ("percentile", "minmax"):
        low = np.asarray(params["low"], dtype=np.float32).reshape(shape)
        high = np.asarray(params["high"], dtype=np.float32).reshape(shape)
        return x * (high - low) + low
    if method == "zscore":
        mean = np.asarray(params["mean"], dtype=np.float32).reshape(shape)
        std = np.asarray(params["std"], dtype=np.float32).reshape(shape)
        return x * std + mean
    return x


def predict(model: BioimgModel, image, *, axes: str | None = None, objects=None, tile=None,
            overlap=None, threshold: float = 0.5, min_size: int = 10, progress=None,
            cancel=None) -> Prediction:
    """Predict with ``model`` on ``image`` (array or ``bioimg.io.Image``).

    The normalization stored in the model is applied first. Dense tasks run
    tiled (``tile`` defaults to twice the training patch, ``overlap`` to a
    quarter of the tile) so memory is bounded by the tile.

    NaN / inf pixels of the image never reach the output: a warning names
    their count, they are predicted as background (label 0, every class
    probability 0; a denoised value from a 0 input). A model that itself
    produces NaN is a ``ValueError``.
    """
    info = model.info
    arr, spatial = to_channel_first(image, axes)
    if len(spatial) != model.ndim:
        raise ValueError(f"the model works on {model.ndim}D images ({info.axes}); "
                         f"this image is {len(spatial)}D ({spatial})")
    expected_c = info.config.get("in_channels", 1)
    if arr.shape[0] != expected_c:
        raise ValueError(f"the model expects {expected_c} channel(s); the image has {arr.shape[0]}")
    x, norm, bad = normalize_finite(arr, info.normalization, image_name(image, 0, 1),
                                    "they are predicted as background")
    net = model.net
    multiple = getattr(net, "size_multiple", 1)
    if info.task == "classify":
        return _classify(model, x, objects, spatial)
    patch = tuple(info.patch_size) or (128,) * model.ndim
    tile = tile or tuple(min(2 * p, 256 if model.ndim == 2 else 96) for p in patch)
    tile = tuple((max(t, multiple) // multiple) * multiple for t in np.broadcast_to(tile, (model.ndim,)))
    overlap = overlap if overlap is not None else tuple(t // 4 for t in tile)
    out_c = info.config.get("out_channels", arr.shape[0])
    out = predict_tiled(net, x, out_c, tile, overlap, multiple, progress, cancel)
    if not np.isfinite(out).all():
        raise ValueError(f"the model produced {int((~np.isfinite(out)).sum())} NaN/inf outputs on a finite "
                         "input: the model file is broken (retrain it)")
    if info.task == "denoise":
        den = _denormalize(out, norm)
        return Prediction("denoise", image=den[0] if den.shape[0] == 1 else den,
                          summary={"shape": list(den.shape)})
    probs = softmax(out, 0)
    if bad is not None:
        probs[:, bad] = 0.0
    if info.task == "instance":
        spacing = getattr(image, "spacing", None)  # anisotropic stacks: split in physical distances
        rel = tuple(sp / min(spacing) for sp in spacing) if spacing and len(spacing) == model.ndim else None
        labels = instances_from_probs(probs, threshold=threshold, min_size=min_size, spacing=rel)
        return Prediction("instance", labels=labels, probabilities=probs,
                          class_names=list(info.class_names), summary={"objects": int(labels.max())})
    offset = label_offset(info)
    labels = class_labels(probs, offset)
    if bad is not None:
        labels[bad] = 0
    counts = {name: int((labels == i + offset).sum()) for i, name in enumerate(info.class_names)}
    return Prediction("segment", labels=labels, probabilities=probs,
                      class_names=list(info.class_names), summary={"pixels_per_class": counts})


def _classify(model: BioimgModel, x: np.ndarray, objects, spatial) -> Prediction:
    net = model.net
    net.eval()
    names = list(model.info.class_names)
    with torch.no_grad():
        if objects is None:
            probs = softmax(net(torch.from_numpy(x[None])).numpy()[0], 0)
            best = int(probs.argmax())
            return Prediction("classify", probabilities=probs, class_names=names,
                              summary={"class": names[best] if names else best + 1,
                                       "probability": float(probs[best])})
        from scipy import ndimage as ndi
        obj = np.asarray(getattr(objects, "data", objects))
        if obj.shape != x.shape[1:]:
            raise ValueError(f"objects shape {obj.shape} does not match the image {x.shape[1:]}")
        size = tuple(model.info.patch_size)
        out = np.zeros(obj.shape, dtype=np.uint16)
        ids = [i for i in np.unique(obj) if i != 0]
        found = ndi.find_objects(obj.astype(np.int64))
        probs = []
        for i in ids:
            sl = found[i - 1]
            centre = [(s.start + s.stop) // 2 for s in sl]
            p = softmax(net(torch.from_numpy(crop_at(x, centre, size)[None])).numpy()[0], 0)
            probs.append(p)
            out[obj == i] = int(p.argmax()) + 1
        return Prediction("classify", labels=out, probabilities=np.array(probs), class_names=names,
                          summary={"objects": len(ids)})
