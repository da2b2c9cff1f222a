"""The ``rdf.yaml`` of a bioimage.io model package (model spec 0.5), as a plain dict.

Normalization is written in the spec's own terms where it means the same:
bioimg's per-image ``percentile`` / ``minmax`` is ``scale_range`` (per sample
and channel, ``(x - p_lo) / (p_hi - p_lo + eps)``, numpy's linear
percentiles), ``zscore`` is ``zero_mean_unit_variance``. Softmax over the
classes of segmentation and classification models is ``softmax``
postprocessing; the ONNX graph itself ends with the logits.
"""
from __future__ import annotations

import inspect

FORMAT_VERSION = "0.5.4"
INPUT_ID, OUTPUT_ID = "raw", "prediction"
UNITS = {"nm": "nanometer", "um": "micrometer", "µm": "micrometer", "micron": "micrometer",
         "mm": "millimeter", "cm": "centimeter", "m": "meter", "angstrom": "angstrom"}
_CITES = {
    "unet": ("Ronneberger, Fischer, Brox. U-Net: Convolutional Networks for Biomedical Image "
             "Segmentation. MICCAI 2015.", "10.1007/978-3-319-24574-4_28"),
    "classifier": ("LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document "
                   "recognition. Proc. IEEE 1998.", "10.1109/5.726791"),
}
_CITES["autoencoder"] = _CITES["unet"]


def unit_name(unit: str | None) -> str | None:
    """A spec unit ('micrometer') from what bioimg reads in files ('um', 'µm', 'micron', ...)."""
    if not unit or unit in ("pixel", "px", "voxel"):
        return None
    return UNITS.get(unit.strip().lower(), unit.strip().lower())


def _defaults(method: str) -> dict:
    from ..preprocess import _normalize as N
    fn = {"percentile": N.normalize_percentile, "zscore": N.normalize_zscore,
          "minmax": N.normalize_minmax}.get(method)
    if fn is None:
        return {}
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


def preprocessing(norm: dict, space: list[str]) -> list[dict]:
    """bioimg's normalization settings as spec preprocessing steps (raises if not expressible)."""
    method = norm.get("method", "percentile")
    settings = {**_defaults(method), **norm}
    eps = float(settings.get("eps", 1e-6)) or 1e-6
    steps: list[dict] = []
    if method in ("percentile", "minmax"):
        lo, hi = (settings.get("pmin", 1.0), settings.get("pmax", 99.8)) if method == "percentile" \
            else (0.0, 100.0)
        steps.append({"id": "scale_range", "kwargs": {"axes": space, "min_percentile": float(lo),
                                                      "max_percentile": float(hi), "eps": eps}})
        if settings.get("clip"):
            steps.append({"id": "clip", "kwargs": {"min": 0.0, "max": 1.0}})
    elif method == "zscore":
        steps.append({"id": "zero_mean_unit_variance", "kwargs": {"axes": space, "eps": eps}})
    elif method not in ("none", None):
        raise ValueError(f"normalization {method!r} has no bioimage.io equivalent")
    return steps


def normalization_from(steps: list) -> dict:
    """The reverse of :func:`preprocessing` for a package's input preprocessing."""
    norm = {"method": "none"}
    for step in steps or []:
        sid, kw = step.get("id"), step.get("kwargs") or {}
        if sid == "scale_range":
            lo, hi = float(kw.get("min_percentile", 0.0)), float(kw.get("max_percentile", 100.0))
            norm = {"method": "percentile", "pmin": lo, "pmax": hi, "eps": float(kw.get("eps", 1e-6))}
        elif sid == "zero_mean_unit_variance":
            norm = {"method": "zscore", "eps": float(kw.get("eps", 1e-6))}
        elif sid == "clip" and norm.get("method") == "percentile" and kw.get("min") == 0 \
                and kw.get("max") == 1:
            norm["clip"] = True
        elif sid in ("ensure_dtype",):
            continue
        else:
            raise ValueError(f"input preprocessing {sid!r} is not supported by bioimg")
    return norm


def _space_axes(letters: str, size_in, scale: list, unit: str | None, output: bool) -> list[dict]:
    axes = []
    for i, a in enumerate(letters.lower()):
        ax = {"type": "space", "id": a, "scale": float(scale[i])}
        if unit:
            ax["unit"] = unit
        ax["size"] = {"tensor_id": INPUT_ID, "axis_id": a} if output else size_in
        axes.append(ax)
    return axes


def build_rdf(info, *, name: str, description: str, authors: list, license: str, cite: list,
              tags: list, scale: list, unit: str | None, multiple: int, in_channels: int,
              out_channels: int, files: dict, onnx_sha: str, opset: int, extra_config: dict) -> dict:
    """The rdf.yaml content; ``files`` maps roles (test_input, ...) to (name, sha256)."""
    letters = info.axes[-int(info.config.get("ndim", len(info.axes))):]
    space = [a.lower() for a in letters]
    in_axes = [{"type": "batch"},
               {"type": "channel", "id": "channel",
                "channel_names": [f"channel{i}" for i in range(in_channels)]}]
    in_axes += _space_axes(letters, {"min": multiple, "step": multiple}, scale, unit, False)
    names = list(info.class_names) if len(info.class_names) == out_channels else \
        [f"channel{i}" for i in range(out_channels)]
    out_axes = [{"type": "batch"}, {"type": "channel", "id": "channel", "channel_names": names}]
    post = []
    if info.task in ("segment", "instance", "classify"):
        post.append({"id": "softmax", "kwargs": {"axis": "channel"}})
    if info.task != "classify":
        out_axes += _space_axes(letters, None, scale, unit, True)
    fd = {k: {"source": v[0], "sha256": v[1]} for k, v in files.items()}
    # the spec limits tensor descriptions to 128 characters
    what = {"segment": "class probabilities per pixel",
            "instance": "background/interior/boundary probabilities (bioimg adds a seeded "
                        "watershed for objects)",
            "classify": "class probabilities",
            "denoise": "denoised image in normalized intensities"}[info.task]
    return {
        "format_version": FORMAT_VERSION, "type": "model", "name": name,
        "description": description, "version": "0.1.0",
        "authors": authors, "license": license, "cite": cite,
        "tags": sorted(set(tags + ["bioimg", "onnx", info.task, f"{len(space)}d"])),
        "documentation": fd["documentation"], "covers": [fd["cover"]["source"]],
        "inputs": [{"id": INPUT_ID, "description": "raw image (any intensity range; normalized by "
                                                  "the preprocessing)",
                    "axes": in_axes, "test_tensor": fd["test_input"],
                    **({"sample_tensor": fd["sample_input"]} if "sample_input" in fd else {}),
                    "preprocessing":
                    preprocessing(info.normalization, space)}],
        "outputs": [{"id": OUTPUT_ID, "description": what, "axes": out_axes,
                     "test_tensor": fd["test_output"],
                     **({"sample_tensor": fd["sample_output"]} if "sample_output" in fd else {}),
                     "postprocessing": post}],
        "weights": {"onnx": {"source": files["weights"][0], "sha256": onnx_sha,
                             "opset_version": int(opset)}},
        "config": {"bioimg": extra_config},
    }


def default_cite(architecture: str) -> list[dict]:
    text, doi = _CITES.get(architecture, _CITES["unet"])
    return [{"text": text, "doi": doi}]
