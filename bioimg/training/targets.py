"""Label images -> training targets (class indices, ``IGNORE`` = left out of the loss).

What label values mean (sparse painting, binary / multi-class / instance
masks) is decided in :mod:`bioimg.training.labels`; this module holds the
validation and the two conversions it builds on:

- sparse painting: 0 = unlabelled, 1..K = classes; the target is
  ``label - 1`` with ``IGNORE`` for unlabelled pixels (``semantic_targets``).
- instance masks: 0 = background, each object one id; the target has three
  classes: 0 background, 1 object interior, 2 object boundary, so touching
  nuclei stay separable (``instance_targets``).
"""
from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

IGNORE = -1
INSTANCE_CLASSES = ("background", "interior", "boundary")


def check_labels(labels, name: str = "labels") -> np.ndarray:
    """Validate one label image; return it as a non-negative integer array.

    Raises a one-line ``ValueError`` naming ``name`` and the offending value
    for NaN / inf, non-integer or negative values and non-numeric dtypes.
    """
    lab = np.asarray(getattr(labels, "data", labels))
    if lab.dtype == bool:
        return lab.view(np.uint8)
    if lab.dtype.kind == "f":
        bad = ~np.isfinite(lab)
        if bad.any():
            what = "NaN" if np.isnan(lab).any() else "inf"
            raise ValueError(f"{name} hold {what} values ({int(bad.sum())} pixels): labels must be "
                             "integer ids (0 = background / unlabelled)")
        frac = lab[np.mod(lab, 1) != 0]
        if frac.size:
            raise ValueError(f"{name} hold non-integer values such as {float(frac.flat[0]):g}: "
                             "labels must be integer ids, not probabilities or intensities")
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer ids, got dtype {lab.dtype}")
    if lab.dtype.kind == "i" and lab.size and lab.min() < 0:
        raise ValueError(f"{name} hold negative values (min {int(lab.min())}): "
                         "ids must be >= 0 (0 = background / unlabelled)")
    return lab


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
