"""Turn napari label layers into training targets.

Conventions (the same in the GUI, the CLI and Python):

- semantic labels: 0 = unlabelled (ignored by the loss), 1..K = classes;
  the target is ``label - 1`` with ``IGNORE`` for unlabelled pixels.
- instance masks: 0 = background, each object one id; the target has three
  classes: 0 background, 1 object interior, 2 object boundary, so touching
  nuclei stay separable.
"""
from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

IGNORE = -1
INSTANCE_CLASSES = ("background", "interior", "boundary")


def check_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Labels must be a non-negative integer array."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class ids, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} must be >= 0 (0 = unlabelled), found {labels.min()}")
    return labels


def semantic_targets(labels: np.ndarray) -> np.ndarray:
    """Sparse class labels (0 = unlabelled) -> int64 targets with ``IGNORE``."""
    labels = check_labels(labels)
    return labels.astype(np.int64) - 1


def instance_targets(instances: np.ndarray, boundary_width: int = 2) -> np.ndarray:
    """Instance mask -> int64 targets: 0 background, 1 interior, 2 boundary.

    The boundary is ``boundary_width`` pixels thick inside each object (so
    ``2 * boundary_width`` between touching objects): thick enough for the
    network to learn it reliably, which is what separates touching nuclei.
    """
    instances = check_labels(instances, "instance mask")
    target = (instances > 0).astype(np.int64)
    boundary = find_boundaries(instances, mode="inner")
    for _ in range(boundary_width - 1):
        from scipy.ndimage import binary_dilation
        boundary = binary_dilation(boundary) & (instances > 0)
    target[boundary] = 2
    return target


def num_classes_of(labels_list) -> int:
    """Number of classes K painted across label images (max id)."""
    k = max((int(np.max(lab)) for lab in labels_list if lab.size), default=0)
    if k < 1:
        raise ValueError("labels are empty: paint at least one class (values 1..K; 0 = unlabelled)")
    return k
