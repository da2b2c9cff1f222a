"""Apply a trained model to an image: the one function the CLI and the GUI call."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import autograd as torch

from ..modelfile import BioimgModel
from ..training.crops import crop_at
from ..training.prep import image_name, normalize_finite, to_channel_first
from ._input import prepare_input
from ._progress import staged
from .dense import denormalize, numpy_allocate, predict_dense
from .engine import default_tile
from .postprocess import instances_from_probs, label_offset, softmax
from .volume import predict_volume, volume_settings
from .stitch import default_block, instances_blockwise


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
    return denormalize(x, params)


def _relative_spacing(image, ndim: int):
    """Anisotropic stacks: split objects in physical distances (spacing relative to the finest axis)."""
    spacing = getattr(image, "spacing", None)
    return tuple(sp / min(spacing) for sp in spacing) if spacing and len(spacing) == ndim else None


def predict(model: BioimgModel, image, *, axes: str | None = None, objects=None, tile=None,
            overlap=None, threshold: float = 0.5, min_size: int = 10, progress=None,
            cancel=None, allocate=None, probabilities: bool = True, instance_block=None,
            instance_halo=None) -> Prediction:
    """Predict with ``model`` on ``image`` (array, dask/zarr array or ``bioimg.io.Image``).

    The normalization stored in the model is applied first. Dense tasks run
    through the one tiled engine (:mod:`bioimg.inference.engine`; ``tile``
    defaults to twice the training patch, ``overlap`` to a quarter of the
    tile): memory is bounded by the tile and a band of tiles, plus the
    outputs. Lazy images (dask, zarr, memory maps, ``read(..., lazy=True)``)
    are never loaded whole: normalization statistics are computed chunk by
    chunk and the input is read one row of tiles at a time.

    Parameters
    ----------
    allocate : callable, optional
        ``allocate(name, shape, dtype)`` creates each output array (default:
        numpy zeros). Return zarr arrays to write results larger than memory;
        the Prediction then holds those arrays.
    probabilities : bool
        Keep the class probabilities (segment models; instance models always
        compute them, denoise models have none).
    instance_block, instance_halo : int or tuple, optional
        Instance models: labels are made block by block (core ``instance_block``
        grown by ``instance_halo``) and stitched across block borders
        (:func:`bioimg.inference.stitch.instances_blockwise`); defaults 1024 / 48
        px in 2D. An image within one block is labelled in one piece.
    progress : callable, optional
        ``progress(done, total)`` per tile, then, for instance models on images
        larger than one ``instance_block``, per block of the stitching (two
        passes). A callback with a ``stage`` keyword also gets ``stage="tiles"``
        or ``stage="stitching"`` (:mod:`bioimg.inference._progress`).
    cancel : callable, optional
        ``cancel()`` returning True stops between tiles or stitching blocks with
        ``InterruptedError``.

    NaN / inf pixels of the image never reach the output: a warning names
    their count, they are predicted as background (label 0, every class
    probability 0; a denoised value from a 0 input). A model that itself
    produces NaN is a ``ValueError``.
    """
    info = model.info
    if volume_settings(info) is not None:  # slice-wise model of one object in volumes (see .volume)
        return predict_volume(model, image, axes=axes, progress=staged(progress, "tiles"), cancel=cancel)
    net = model.net
    multiple = getattr(net, "size_multiple", 1)
    expected_c = info.config.get("in_channels", 1)

    def check(spatial_shape, channels):
        if len(spatial_shape) != model.ndim:
            raise ValueError(f"the model works on {model.ndim}D images ({info.axes}); "
                             f"this image is {len(spatial_shape)}D ({tuple(spatial_shape)})")
        if channels != expected_c:
            raise ValueError(f"the model expects {expected_c} channel(s); the image has {channels}")

    if info.task == "classify":
        arr, spatial = to_channel_first(image, axes)
        check(arr.shape[1:], arr.shape[0])
        x, _, _ = normalize_finite(arr, info.normalization, image_name(image, 0, 1),
                                   "they are predicted as background")
        return _classify(model, x, objects, spatial)
    inp = prepare_input(image, axes, info.normalization, "they are predicted as background", check)
    tile, overlap = default_tile(info.patch_size, model.ndim, multiple, tile, overlap)
    allocate = allocate or numpy_allocate
    outs = predict_dense(model, inp, tile=tile, overlap=overlap, allocate=allocate,
                         probabilities=probabilities, progress=staged(progress, "tiles"), cancel=cancel)
    if info.task == "denoise":
        den = outs["image"]
        return Prediction("denoise", image=den, summary={"shape": list(den.shape)})
    probs = outs.get("probabilities")
    if info.task == "instance":
        labels, n = _instances(probs, inp, allocate, threshold, min_size,
                               _relative_spacing(image, model.ndim), instance_block, instance_halo, cancel,
                               staged(progress, "stitching"))
        return Prediction("instance", labels=labels, probabilities=probs if probabilities else None,
                          class_names=list(info.class_names), summary={"objects": n})
    labels = outs["labels"]
    offset = label_offset(info)
    counts = _class_counts(labels, len(info.class_names), offset)
    return Prediction("segment", labels=labels, probabilities=probs,
                      class_names=list(info.class_names),
                      summary={"pixels_per_class": dict(zip(info.class_names, counts))})


def _class_counts(labels, k: int, offset: int) -> list[int]:
    """Pixels per class, chunk by chunk for arrays that are not in memory."""
    counts = np.zeros(k + offset + 1, np.int64)
    # bincount widens to int64: 4 Mpx (32 MB) at a time, not the image
    step = max(1, int(2 ** 22 // max(1, int(np.prod(labels.shape[1:])))))
    for i in range(0, labels.shape[0], step):
        part = np.asarray(labels[i:i + step]).reshape(-1)
        counts += np.bincount(part, minlength=len(counts))[:len(counts)]
    return [int(c) for c in counts[offset:offset + k]]


def _instances(probs, inp, allocate, threshold, min_size, spacing, block, halo, cancel, progress=None):
    """Instance labels from the probabilities: in one piece when they fit one block, else stitched."""
    shape = inp.shape
    dblock, _ = default_block(len(shape))
    block = tuple(int(b) for b in np.broadcast_to(block or dblock, (len(shape),)))
    if all(s <= b for s, b in zip(shape, block)) and isinstance(probs, np.ndarray):
        labels = instances_from_probs(probs, threshold=threshold, min_size=min_size, spacing=spacing)
        if allocate is not numpy_allocate:
            out = allocate("labels", shape, labels.dtype)
            out[...] = labels
            labels = out
        return labels, int(labels.max())
    ids = allocate("instance_ids", shape, np.uint32)  # provisional ids, renumbered into "labels"
    made = {}

    def final(n: int):
        made["labels"] = allocate("labels", shape, np.uint16 if n < 65535 else np.uint32)
        return made["labels"]

    n = instances_blockwise(probs, ids, block=block, halo=halo, threshold=threshold,
                            min_size=min_size, spacing=spacing, final=final, progress=progress,
                            cancel=cancel)
    return made["labels"], n


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
