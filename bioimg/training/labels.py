"""What label values mean: one rule for the CLI, the Python API and the GUI.

- sparse painting: 0 = unlabelled (left out of the loss), 1..K = classes.
  What a user paints in napari; also a class map without any 0.
- dense binary mask: 0 = background, one non-zero value (or ``True``) =
  object; 2 classes (background, foreground).
- dense multi-class mask: 0 = background, 1..K = classes; K + 1 classes.
- dense instance mask: 0 = background, 1..N = objects. ``segment`` learns
  foreground / background from it (never one class per object);
  ``instance`` learns background / interior / boundary.

``interpret_labels`` detects the kind where the data say it unambiguously
(see its docstring for the defaults of the ambiguous cases), and an explicit
kind always wins, unless the data contradict it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics._kinds import single_object_fraction
from .targets import IGNORE, INSTANCE_CLASSES, check_labels, instance_targets

LABEL_KINDS = ("auto", "sparse", "binary", "multiclass", "instance")
MAX_CLASSES = 64
_DESCRIBE = {"sparse": "sparse painting, 0 = unlabelled", "binary": "dense binary mask, 0 = background",
             "multiclass": "dense multi-class mask, 0 = background",
             "instance": "dense instance mask, 0 = background"}
_INSTANCE_HINT = "use --task instance (or --label-kind instance for a foreground/background model)"


@dataclass
class LabelPlan:
    """How label values become training classes.

    Attributes
    ----------
    kind : str
        "sparse", "binary", "multiclass" or "instance" (never "auto").
    num_classes : int
        Output channels of the network.
    message : str
        One line for the user, e.g. "labels: dense binary mask, 0 = background, 2 classes".
    note : str
        An optional hint (e.g. an instance mask given to ``segment``).
    """

    kind: str
    num_classes: int
    message: str
    note: str = ""

    @property
    def label_offset(self) -> int:
        """Predicted label value of class index 0: 1 for sparse painting (0 stays "unlabelled")."""
        return 1 if self.kind == "sparse" else 0

    def class_names(self, given=None) -> list:
        """Names of the output channels; ``given`` may leave out "background" for dense masks."""
        given = list(given or [])
        k = self.num_classes
        if len(given) == k:
            return given
        if self.label_offset == 0 and len(given) == k - 1 and k > 1:
            return ["background"] + given
        if given:
            raise ValueError(f"got {len(given)} class names for {k} classes ({self.message})")
        if self.kind in ("binary", "instance") and k == 2:
            return ["background", "foreground"]
        if k == 3 and self.kind == "instance":
            return list(INSTANCE_CLASSES)
        if self.label_offset == 0:
            return ["background"] + [f"class {i}" for i in range(1, k)]
        return [f"class {i}" for i in range(1, k + 1)]


def label_name(labels, index: int, count: int) -> str:
    """How errors name one label image: its file stem when known, else its position."""
    name = getattr(labels, "name", "") if hasattr(labels, "axes") else ""
    if name:
        return f"labels {name!r}"
    return "labels" if count == 1 else f"labels #{index + 1}"


def _values(lab: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a histogram for small ranges: no sort of a big image)."""
    if lab.size == 0:
        return np.zeros(0, np.int64)
    top = int(lab.max())
    if top < (1 << 24):
        return np.flatnonzero(np.bincount(lab.reshape(-1).astype(np.intp, copy=False), minlength=top + 1))
    return np.unique(lab)


def _too_many(count: int, what: str) -> ValueError:
    return ValueError(f"{what}: {count} classes is more than the limit of {MAX_CLASSES}; "
                      f"ids of objects are not classes: {_INSTANCE_HINT}")


def interpret_labels(labels_list, task: str, kind: str = "auto", *, painted: bool = False,
                     names=None) -> LabelPlan:
    """Decide what the label values mean for ``task`` ("segment" or "instance").

    Parameters
    ----------
    labels_list : list of array
        Label images (validated with :func:`check_labels`).
    task : str
        "segment" or "instance".
    kind : str
        One of ``LABEL_KINDS``; "auto" detects it. An explicit kind wins, but
        one the data contradict is a ``ValueError``.
    painted : bool
        The labels were painted in napari (not read from a file): with
        "auto" they are sparse painting (0 = unlabelled).
    names : list of str, optional
        How errors name each label image.

    Returns
    -------
    LabelPlan

    Notes
    -----
    Detection ("auto", labels from a file or array): no non-zero value is an
    error (empty); one non-zero value is a binary mask (no 0 at all: error,
    no background); several values but no 0 is a fully painted class map
    (sparse, every pixel labelled); more than ``MAX_CLASSES`` values, or at
    least 3 values where >= 80 % of the ids are one connected component each,
    is an instance mask; otherwise (few values, or values that span several
    components) a multi-class mask. So {0, 1, 2} from a file is a 3-class
    mask; painted layers are always sparse.
    """
    if kind not in LABEL_KINDS:
        raise ValueError(f"label kind must be one of {LABEL_KINDS}, got {kind!r}")
    if task not in ("segment", "instance"):
        raise ValueError(f"label kinds apply to segment / instance, not {task!r}")
    names = names or [label_name(lab, i, len(labels_list)) for i, lab in enumerate(labels_list)]
    labs = [check_labels(lab, n) for lab, n in zip(labels_list, names)]
    per_image = [_values(lab) for lab in labs]
    allv = np.unique(np.concatenate(per_image)) if per_image else np.zeros(0, np.int64)
    has_zero = bool(allv.size and allv[0] == 0)
    values = allv[allv > 0]
    n, top = len(values), int(values[-1]) if len(values) else 0
    shown = ", ".join(str(v) for v in values[:5]) + (", ..." if n > 5 else "")
    if n == 0:
        what = "paint at least two classes" if painted or kind == "sparse" else "the mask has no objects"
        raise ValueError(f"labels are empty: every pixel is 0; {what}")

    if task == "instance":
        if kind in ("sparse", "multiclass"):
            raise ValueError(f"label kind {kind!r} does not fit --task instance: instance masks are "
                             "0 = background, 1..N = objects")
        kind = "binary" if kind == "binary" or (kind == "auto" and n == 1) else "instance"
        if kind == "binary" and n > 1:
            raise ValueError(f"label kind 'binary': labels hold {n} non-zero values ({shown}); "
                             "a binary mask has one")
        objects = "connected objects" if kind == "binary" else f"{n} object ids"
        return LabelPlan(kind, 3, f"labels: {_DESCRIBE[kind]}, {objects} -> 3 classes "
                                  "(background, interior, boundary)")

    if kind == "auto":
        if painted:
            kind = "sparse"
        elif n == 1:
            kind = "binary"
        elif not has_zero:
            kind = "sparse"  # every pixel carries a class: 1..K are the classes
        elif n > MAX_CLASSES or (n >= 3 and single_object_fraction(labs, values) >= 0.8):
            kind = "instance"
        else:
            kind = "multiclass"
    if kind == "binary":
        if n > 1:
            raise ValueError(f"label kind 'binary': labels hold {n} non-zero values ({shown}); a binary "
                             "mask has one (use --label-kind multiclass or instance)")
        if not has_zero:
            raise ValueError(f"the mask has no background pixels (every pixel is {top}): "
                             "a binary mask needs 0 = background and objects")
        return LabelPlan("binary", 2, f"labels: {_DESCRIBE['binary']}, {top} = object, 2 classes")
    if kind == "instance":
        if not has_zero:
            raise ValueError("the instance mask has no background pixels (no 0): segment needs "
                             "background and objects")
        return LabelPlan("instance", 2, f"labels: {_DESCRIBE['instance']}, {n} object ids -> 2 classes "
                                        "(background, foreground)",
                         note="an instance mask given to --task segment trains foreground/background; "
                              "use --task instance to separate touching objects")
    if kind == "sparse":
        if top > MAX_CLASSES:
            raise _too_many(top, f"sparse labels reach class {top}")
        if n < 2:
            raise ValueError(f"only class {top} is painted: paint at least two classes (e.g. 1 = "
                             "background, 2 = object), or use --label-kind binary if 0 is background")
        desc = _DESCRIBE["sparse"] if has_zero else "class map without 0 (every pixel labelled)"
        return LabelPlan("sparse", top, f"labels: {desc}, classes 1..{top}, {top} classes")
    # multiclass
    if top + 1 > MAX_CLASSES:
        raise _too_many(top + 1, f"label kind 'multiclass': values reach {top}")
    if not has_zero and n < 2:
        raise ValueError(f"the mask has no background pixels (every pixel is {top})")
    return LabelPlan("multiclass", top + 1,
                     f"labels: {_DESCRIBE['multiclass']}, classes 1..{top}, {top + 1} classes "
                     "(background counted)")


def label_targets(labels: np.ndarray, plan: LabelPlan, task: str = "segment",
                  bad_pixels: np.ndarray | None = None) -> np.ndarray:
    """Validated labels -> int8 training targets (0..K-1, ``IGNORE`` = left out of the loss).

    ``bad_pixels`` (image pixels that were NaN/inf) are left out too.
    """
    if task == "instance":
        target = instance_targets(labels)
    elif plan.kind == "sparse":
        target = labels.astype(np.int64) - 1
    elif plan.kind == "multiclass":
        target = labels
    else:  # binary mask or instance ids: foreground / background
        target = labels > 0
    target = target.astype(np.int8)  # MAX_CLASSES < 128: a quarter of int32's memory
    if bad_pixels is not None:
        target[bad_pixels] = IGNORE
    return target


def classify_plan(num_classes: int, from_objects: bool) -> LabelPlan:
    """The plan of a classifier: objects painted with class ids 1..K, or one class per image."""
    source = "labels: objects painted with class ids, 0 = no object" if from_objects else "image classes"
    return LabelPlan("sparse", num_classes, f"{source}, classes 1..{num_classes}, {num_classes} classes")


def plan_extra(plan: LabelPlan | None) -> dict:
    """What a model file records about its labels, so prediction writes the same values back."""
    if plan is None:
        return {}
    return {"label_kind": plan.kind, "label_offset": plan.label_offset}
