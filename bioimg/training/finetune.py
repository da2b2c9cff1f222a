"""Fine-tuning: start a training run from an existing model's weights and normalization.

``Trainer(..., init=model)`` (``bioimg train --init MODEL``) takes the
model's architecture, its normalization settings and its weights. Labels with
a different number of classes replace the head (the last convolution) and
say so in one line; anything else that does not fit (another task family,
dimensionality or number of input channels) is a one-line ``ValueError``.

The model is read with :func:`bioimg.modelfile.load_model`, the loader
``bioimg predict`` uses, so every format it reads can be fine-tuned.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd as torch

# Tasks whose models can start each other: both are U-Nets with per-pixel classes.
_FAMILY = {"segment": "dense", "instance": "dense", "classify": "classify", "denoise": "denoise"}
# Keys that the new labels decide (the head's size), not the loaded model.
_HEAD_KEYS = ("out_channels", "num_classes")


def load_init(init):
    """A ``BioimgModel`` from a model object or a path (read with the predict loader)."""
    if hasattr(init, "net") and hasattr(init, "info"):
        return init, getattr(init, "name", "") or "the given model"
    from ..modelfile import load_model

    return load_model(init), Path(init).name


def adopt_settings(config, model, source: str) -> None:
    """Make ``config`` describe the loaded model: architecture, size and normalization.

    Raises a one-line ``ValueError`` when the model's task cannot start ``config.task``.
    """
    info = model.info
    if not callable(getattr(model.net, "state_dict", None)):  # e.g. a package whose weights run elsewhere
        raise ValueError(f"--init {source}: its weights cannot be trained here "
                         f"({type(model.net).__name__}, not a bioimg network)")
    from ..models import build_model

    try:  # only bioimg architectures train here (a generic ONNX graph does not)
        build_model(info.architecture, **info.config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"--init {source}: its network cannot be fine-tuned ({exc})") from None
    if _FAMILY.get(info.task) != _FAMILY.get(config.task):
        raise ValueError(f"--init {source}: a {info.task} model cannot start a {config.task} run "
                         f"(fine-tune it with --task {info.task})")
    if config.model != info.architecture and config.model != _default_model(config.task):
        raise ValueError(f"--init {source}: the model is a {info.architecture}, this run asks for "
                         f"{config.model}")
    for key, value in (config.model_kwargs or {}).items():
        if key in info.config and info.config[key] != value:
            raise ValueError(f"--init {source}: the model has {key}={info.config[key]}, this run asks for "
                             f"{key}={value} (leave it out to keep the model's)")
    config.model = info.architecture
    config.model_kwargs = {k: v for k, v in info.config.items()
                           if k not in _HEAD_KEYS + ("in_channels", "ndim")}
    if info.normalization:
        config.normalization = dict(info.normalization)
    if not config.patch_size and info.patch_size:
        config.patch_size = None  # the image decides; the model's patch may not fit it


def _default_model(task: str) -> str:
    from .config import DEFAULT_MODEL

    return DEFAULT_MODEL[task]


def check_input(model, ndim: int, channels: int, source: str) -> None:
    """The images must have the model's dimensionality and channels."""
    cfg = model.info.config
    want_nd = int(cfg.get("ndim", len(model.info.axes)))
    if want_nd != ndim:
        raise ValueError(f"--init {source}: the model works on {want_nd}D images ({model.info.axes}), "
                         f"the training images are {ndim}D")
    want_c = int(cfg.get("in_channels", 1))
    if want_c != channels:
        raise ValueError(f"--init {source}: the model takes {want_c} channel(s), the training images "
                         f"have {channels}")


def load_weights(net, model, source: str, num_classes: int | None) -> str:
    """Copy the model's weights into ``net``; a head of another size is left freshly initialised.

    Returns a one-line message when the head was replaced ("" otherwise).
    """
    new = net.state_dict()
    old = model.net.state_dict()
    if set(new) != set(old):
        missing = sorted(set(new) ^ set(old))[:3]
        raise ValueError(f"--init {source}: its architecture differs from this run's "
                         f"(weights {', '.join(missing)} do not match)")
    differ = [k for k in new if tuple(new[k].shape) != tuple(old[k].shape)]
    head = _head_prefix(new)
    if any(not k.startswith(head) for k in differ):
        bad = next(k for k in differ if not k.startswith(head))
        raise ValueError(f"--init {source}: weight {bad} is {tuple(old[bad].shape)} in the model but "
                         f"{tuple(new[bad].shape)} here (another architecture)")
    state = {k: torch.from_numpy(np.array(old[k].numpy(), copy=True)) for k in new if k not in differ}
    state.update({k: new[k] for k in differ})
    net.load_state_dict(state, strict=True)
    if not differ:
        return ""
    before = int(model.info.config.get("out_channels", model.info.config.get("num_classes", 0))
                 or len(model.info.class_names))
    return (f"init: the labels have {num_classes} classes, the model {before}: its head (last layer "
            f"'{head.rstrip('.')}') is replaced by a new one; every other weight comes from {source}")


def _head_prefix(state: dict) -> str:
    """The module prefix of the last layer holding weights ("head." for every bioimg model)."""
    last = [k for k in state if k.endswith("weight")][-1]
    return last[: -len("weight")]


def class_names(model, plan_names: list, num_classes: int) -> list:
    """Keep the model's class names when the number of classes is unchanged."""
    names = list(model.info.class_names or [])
    return names if len(names) == num_classes else plan_names
