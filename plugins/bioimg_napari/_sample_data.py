"""Sample data for File > Open Sample: the real images shipped in ``sample_data/``."""
from __future__ import annotations

from ._layers import LayerData, image_to_layer_data


def _load(name: str, labels_name: str | None = None) -> list[LayerData]:
    from bioimg.io import read
    from bioimg.sample import sample_paths

    image_path, labels_path = sample_paths(name)
    layers = image_to_layer_data(read(image_path), layer_type="image", name=name, source=image_path)
    if labels_path is not None:
        layers += image_to_layer_data(read(labels_path), layer_type="labels",
                                      name=labels_name or f"{name} labels", source=labels_path)
    return layers


def nuclei2d() -> list[LayerData]:
    """2D fluorescence nuclei (DSB2018, 512x256) with 73 hand-drawn instance labels.

    Returns
    -------
    list of (data, kwargs, layer_type)
        An Image layer ``nuclei2d`` and a Labels layer ``nuclei2d labels``.
    """
    return _load("nuclei2d")


def nuclei3d() -> list[LayerData]:
    """3D nuclei stack (cells3d crop, 32x128x128, 0.29/0.26/0.26 um) with pseudo labels.

    Returns
    -------
    list of (data, kwargs, layer_type)
        An Image layer ``nuclei3d`` and a Labels layer ``nuclei3d pseudo labels``
        (from a classical algorithm, not ground truth).
    """
    return _load("nuclei3d", "nuclei3d pseudo labels")


def mri() -> list[LayerData]:
    """Noisy EPI brain MRI with anisotropic 4x4x5 mm voxels (24x58x58, ZYX).

    Returns
    -------
    list of (data, kwargs, layer_type)
        One Image layer ``mri`` with ``scale`` (5, 4, 4).
    """
    return _load("mri")
