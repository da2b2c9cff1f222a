"""Training configuration, progress events and the cancel token."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

TASKS = ("segment", "instance", "classify", "denoise")
DEFAULT_MODEL = {"segment": "unet", "instance": "unet", "classify": "classifier", "denoise": "autoencoder"}


@dataclass
class TrainConfig:
    """Everything that defines a training run (the CLI and the GUI fill the same fields).

    ``epochs`` x ``steps_per_epoch`` bounds the run; ``time_budget`` (seconds)
    stops it earlier. ``seed`` makes a run bitwise reproducible on the same
    machine.
    """

    task: str = "segment"
    model: str | None = None
    model_kwargs: dict = field(default_factory=dict)
    patch_size: tuple | None = None
    batch_size: int | None = None  # None: 8 patches in 2D, 2 in 3D (a 3D patch holds 16x the voxels)
    epochs: int = 20
    steps_per_epoch: int = 50
    time_budget: float | None = None
    lr: float = 3e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup: float = 0.03
    val_fraction: float = 0.15
    patience: int | None = None
    seed: int = 0
    augment: bool = True
    normalization: dict = field(default_factory=lambda: {"method": "percentile", "pmin": 1.0, "pmax": 99.8})
    class_weights: list | None = None
    dice_weight: float = 0.0
    class_names: list | None = None
    n2v_fraction: float = 0.01
    crop_size: int | None = None
    label_kind: str = "auto"
    labels_painted: bool = False
    val_points: int = 10  # with a time budget: validations per run (an epoch ends every budget / val_points s)
    checkpoint_every: int = 0  # steps between resumable checkpoints (Trainer state_file); 0: only on cancel
    correction_weight: float = 4.0  # loss weight of pixels corrected by hand (Trainer corrections)
    volume: str = "auto"  # one-object segmentation of physical volumes: "auto" (bioimg.training.volume) or "off"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for name in ("batch_size", "epochs", "steps_per_epoch"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ValueError(f"time_budget must be positive seconds, got {self.time_budget}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.model is None:
            self.model = DEFAULT_MODEL[self.task]
        if self.volume not in ("auto", "off"):
            raise ValueError(f"volume must be 'auto' or 'off', got {self.volume!r}")
        from .labels import LABEL_KINDS  # label kinds: see bioimg.training.labels
        if self.label_kind not in LABEL_KINDS:
            raise ValueError(f"label_kind must be one of {LABEL_KINDS}, got {self.label_kind!r}")


@dataclass
class Progress:
    """One training event: ``kind`` is "step", "epoch", "done" or "cancelled"."""

    kind: str
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    lr: float
    elapsed: float
    val_loss: float | None = None
    val_metric: float | None = None
    metric_name: str = ""
    best_epoch: int | None = None
    message: str = ""
    eta: float | None = None  # seconds left (the step bound at the current pace, capped by the time budget)


class CancelToken:
    """Thread-safe stop request: the loop stops after the current step, keeping the best model."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __bool__(self) -> bool:
        return self.cancelled
