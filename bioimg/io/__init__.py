"""Read and write microscopy and MRI images with their voxel size.

``read(path)`` returns an :class:`Image` (array + axes + spacing + unit +
source metadata) for TIFF, ImageJ and OME-TIFF, folders of TIFF slices,
NIfTI and DICOM; ``write(path, image)`` writes TIFF, OME-TIFF or NIfTI
atomically. Every failure is an :class:`ImageReadError` /
:class:`ImageWriteError` (both ``ValueError``) naming the file and reason.

Conventions
-----------
- Axes letters ``TCZYX`` in that order (RGB(A) colour stays last: ``YXC``).
- ``spacing`` covers the spatial axes only, in axes order, 1.0 if unknown.
- NIfTI and DICOM volumes are ``ZYX``: the reverse of nibabel's (x, y, z);
  ``metadata["affine"]`` maps (x, y, z) voxel indices to RAS+ millimeters.

Examples
--------
>>> from bioimg.io import read, write
>>> img = read("sample_data/nuclei3d_image.tif")  # doctest: +SKIP
>>> write("out.nii.gz", img.with_data(img.data > 1000))  # doctest: +SKIP
"""
from ._api import read, write
from ._errors import ImageReadError, ImageWriteError
from ._image import Image

__all__ = ["read", "write", "Image", "ImageReadError", "ImageWriteError"]
