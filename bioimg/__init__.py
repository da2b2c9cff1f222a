"""bioimg: train image-analysis models on microscopy and MRI stacks.

The domain library behind the napari plugin and the ``bioimg`` command line:
``io`` (read/write stacks with their voxel size), ``preprocess``
(anisotropic diffusion, normalization), ``models``, ``training``,
``inference`` and ``metrics``. Never imports Qt or napari.
"""
__version__ = "0.1.0"
