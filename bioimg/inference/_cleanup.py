"""Post-processing for masks of one solid object (a brain, an organ): keep the
largest connected component and fill its holes."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest face-connected component of a boolean mask (all False if empty).

    Examples
    --------
    >>> m = np.zeros((1, 7), bool); m[0, [0, 1, 2, 5]] = True
    >>> largest_component(m).astype(int).tolist()
    [[1, 1, 1, 0, 0, 0, 0]]
    """
    mask = np.asarray(mask, dtype=bool)
    comps, n = ndi.label(mask)
    if n <= 1:
        return mask.copy()
    sizes = np.bincount(comps.reshape(-1))
    sizes[0] = 0
    return comps == int(np.argmax(sizes))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill the cavities of a mask (2D or 3D): background not connected to the outside."""
    return ndi.binary_fill_holes(np.asarray(mask, dtype=bool))


def detach_thin(mask: np.ndarray, radius: int) -> np.ndarray:
    """Cut thin bridges: keep what the largest component of ``mask`` opened by ``radius`` voxels reaches.

    The mask is eroded ``radius`` times, its largest component grown back
    ``radius + 1`` times inside the original mask. Strands thinner than
    about ``2 * radius`` voxels that join the object to something else (a
    brain to the scalp through the skull) are cut; the object's own
    outline is kept (it is the original mask wherever the core reaches;
    sharp corners round off).
    """
    mask = np.asarray(mask, dtype=bool)
    if radius <= 0 or not mask.any():
        return mask
    core = ndi.binary_erosion(mask, iterations=int(radius))
    if not core.any():
        return mask
    core = largest_component(core)
    return ndi.binary_dilation(core, iterations=int(radius) + 1, mask=mask)


def clean_single_object(mask: np.ndarray, radius: int = 0) -> np.ndarray:
    """Largest connected component with its holes filled (the brain-mask clean-up).

    With ``radius`` > 0, thin bridges to other structures are cut first (:func:`detach_thin`).

    Examples
    --------
    >>> m = np.zeros((9, 9), bool); m[1:6, 1:6] = True; m[3, 3] = False; m[8, 8] = True
    >>> out = clean_single_object(m)
    >>> bool(out[3, 3]), bool(out[8, 8]), int(out.sum())
    (True, False, 25)
    """
    return fill_holes(largest_component(detach_thin(mask, radius)))
