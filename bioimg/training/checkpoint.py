"""Resumable training state: one ``.npz`` file of plain arrays plus a JSON header (never pickle).

A checkpoint holds everything the loop needs to continue as if it had never
stopped: the current weights (and buffers), the best weights so far, AdamW's
moments and step counts, the loop position (epoch, steps done in it, their
losses), the history, the early-stopping counters, the time budget used and
the random generators' states (numpy's for sampling / augmentation, the
engine's). It is written atomically (:func:`bioimg.io._atomic.atomic_file`),
so a kill during the write leaves the previous checkpoint.

A config fingerprint and the inputs' SHA-256 are stored too: resuming with
other images, labels or settings is a one-line ``ValueError``.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

import autograd as torch

FORMAT = "bioimg-train-state"
VERSION = 1
# Settings that may differ on resume: they bound the run or only describe it.
_FREE = {"time_budget", "epochs", "patience", "checkpoint_every", "class_names"}


def state_path(out) -> Path:
    """Where ``bioimg train --out m.bioimg`` keeps its resumable state: ``m.state.npz``."""
    out = Path(out)
    name = out.name[: -len(".bioimg")] if out.name.lower().endswith(".bioimg") else out.name
    return out.with_name(name + ".state.npz")


def fingerprint(config, arrays: list) -> dict:
    """What must match on resume: the config (minus run bounds) and a hash of every input array."""
    from dataclasses import asdict

    cfg = {k: v for k, v in asdict(config).items() if k not in _FREE}
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return {"config": json.loads(json.dumps(cfg, default=_plain)), "inputs": h.hexdigest()}


def _plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def save_state(path, *, net, opt, best: dict | None, loop: dict, rng: np.random.Generator,
               ident: dict) -> Path:
    """Write the loop's state to ``path`` atomically (see the module docstring)."""
    from ..io._atomic import atomic_file

    arrays = {f"w/{k}": np.asarray(v.numpy()) for k, v in net.state_dict().items()}
    if best is not None:
        arrays.update({f"best/{k}": np.asarray(v) for k, v in best.items()})
    params = [p for g in opt.param_groups for p in g["params"]]
    opt_meta = []
    for i, p in enumerate(params):
        st = opt.state.get(p) or {}
        keys = []
        for key, val in st.items():
            arr = val.numpy() if hasattr(val, "numpy") else np.asarray(val)
            arrays[f"opt/{i}/{key}"] = np.asarray(arr)
            keys.append(key)
        opt_meta.append(keys)
    meta = {"format": FORMAT, "version": VERSION, "loop": loop, "ident": ident,
            "rng": rng.bit_generator.state, "engine_rng": torch.get_rng_state(),
            "opt_keys": opt_meta, "lr": [g["lr"] for g in opt.param_groups]}
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=_plain).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as fh:
        fh.write(buf.getvalue())
    return path


def read_state(path) -> tuple[dict, dict]:
    """Read a checkpoint: ``(meta, arrays)`` (one-line ``ValueError`` if it is not one)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--resume: no checkpoint {path} (a run writes it while training; a finished "
                         "run removes it)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"--resume: {path} is not a bioimg training checkpoint ({exc})"[:300]) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"--resume: {path} is not a bioimg training checkpoint (version "
                         f"{meta.get('version') if isinstance(meta, dict) else '?'})")
    return meta, arrays


def check_ident(meta: dict, ident: dict, path) -> None:
    """The resumed run must have the inputs and settings of the run that wrote the checkpoint."""
    old = meta["ident"]
    if old["inputs"] != ident["inputs"]:
        raise ValueError(f"--resume: {Path(path).name} was written for other images or labels")
    for key in sorted(set(old["config"]) | set(ident["config"])):
        a, b = old["config"].get(key), ident["config"].get(key)
        if a != b:
            raise ValueError(f"--resume: {Path(path).name} was written with {key}={a!r}, this run has "
                             f"{key}={b!r}")


def restore_state(meta: dict, arrays: dict, *, net, opt, rng: np.random.Generator) -> dict | None:
    """Load weights, optimizer moments and generator states; return the best weights (or None)."""
    net.load_state_dict({k[2:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("w/")},
                        strict=True)
    params = [p for g in opt.param_groups for p in g["params"]]
    if len(params) != len(meta["opt_keys"]):
        raise ValueError("--resume: the checkpoint's optimizer does not fit this model")
    for i, (p, keys) in enumerate(zip(params, meta["opt_keys"])):
        if keys:
            opt.state[p] = {key: torch.from_numpy(np.array(arrays[f"opt/{i}/{key}"], copy=True))
                            for key in keys}
    for g, lr in zip(opt.param_groups, meta["lr"]):
        g["lr"] = lr
    rng.bit_generator.state = meta["rng"]
    torch.set_rng_state(meta["engine_rng"])
    best = {k[5:]: v for k, v in arrays.items() if k.startswith("best/")}
    return best or None
