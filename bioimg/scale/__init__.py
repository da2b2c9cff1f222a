"""Large images: lazy reading and chunk-wise preprocessing with dask.

``read_lazy(path)`` opens an image as an :class:`~bioimg.io.Image` whose
``data`` is a :class:`dask.array.Array` (TIFF / OME-TIFF pixels stay on
disk until computed, through tifffile's zarr store). The ``*_chunked``
functions run :mod:`bioimg.preprocess` chunk by chunk and give the same
numbers as the in-memory functions on the whole array.

Examples
--------
>>> from bioimg.scale import read_lazy, diffuse_chunked, normalize_percentile_chunked
>>> img = read_lazy("big_stack.ome.tif")  # doctest: +SKIP
>>> norm, params = normalize_percentile_chunked(img.data)  # doctest: +SKIP
>>> smooth = diffuse_chunked(norm, niter=10, kappa=0.1, spacing=img.spacing)  # doctest: +SKIP
"""
from ._batch import BatchResult, run_batch
from ._chunked import diffuse_chunked, normalize_percentile_chunked, percentiles_chunked
from ._lazy import read_lazy
from ._distributed import predict_distributed
from ._predict_large import predict_large
from ._stream import predict_to_zarr

__all__ = ["run_batch", "BatchResult", "read_lazy", "diffuse_chunked", "percentiles_chunked", "normalize_percentile_chunked",
           "predict_to_zarr", "predict_large", "predict_distributed"]
