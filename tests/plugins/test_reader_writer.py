"""Reader, writer and sample data through npe2 and a real viewer."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from bioimg.sample import sample_paths
from bioimg_napari._layers import looks_like_labels
from bioimg_napari._reader import napari_get_reader

pytestmark = pytest.mark.gui


def test_get_reader_accepts_images_and_folders(tmp_path):
    image, _ = sample_paths("nuclei2d")
    assert callable(napari_get_reader(str(image)))
    assert callable(napari_get_reader([str(image), str(image)]))
    assert napari_get_reader(str(tmp_path / "notes.txt")) is None
    assert napari_get_reader(str(tmp_path)) is None  # empty folder
    pydicom_data = pytest.importorskip("pydicom.data")
    folder = tmp_path / "series"
    folder.mkdir()
    shutil.copy(pydicom_data.get_testdata_file("MR_small.dcm"), folder / "IM0001")  # no extension
    assert callable(napari_get_reader(str(folder)))


def test_labels_heuristic():
    rng = np.random.default_rng(0)
    noisy = rng.integers(100, 4000, (64, 64)).astype(np.uint16)
    gradient = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    ids = np.zeros((64, 64), np.uint16)
    ids[5:20, 5:20], ids[30:50, 10:40] = 1, 7
    assert not looks_like_labels("cells", noisy)
    assert not looks_like_labels("cells", gradient)
    assert looks_like_labels("cells", ids)
    assert looks_like_labels("cells_mask", noisy)  # the name decides for integer data
    assert not looks_like_labels("seg", rng.random((8, 8)))  # non-integral floats stay images


@pytest.mark.parametrize("name, shape, scale, labels", [
    ("nuclei2d", (512, 256), (1.0, 1.0), True),
    ("nuclei3d", (32, 128, 128), (0.29, 0.26, 0.26), True),
    ("mri", (24, 58, 58), (5.0, 4.0, 4.0), False),
])
def test_open_sample(viewer, name, shape, scale, labels):
    from napari.layers import Image, Labels

    layers = viewer.open_sample("bioimg", name)
    image = layers[0]
    assert isinstance(image, Image) and image.data.shape == shape
    np.testing.assert_allclose(image.scale, scale)
    assert image.metadata["bioimg"]["axes"] == ("YX" if len(shape) == 2 else "ZYX")
    if labels:
        assert isinstance(layers[1], Labels) and layers[1].data.shape == shape and layers[1].data.max() > 0
        np.testing.assert_allclose(layers[1].scale, scale)
    else:
        assert len(layers) == 1


def test_open_files_with_scale_and_layer_type(viewer):
    from napari.layers import Image, Labels

    image_path, labels_path = sample_paths("nuclei3d")
    (image,) = viewer.open(str(image_path), plugin="bioimg")
    (labels,) = viewer.open(str(labels_path), plugin="bioimg")
    assert isinstance(image, Image) and image.name == "nuclei3d_image"
    assert isinstance(labels, Labels) and labels.name == "nuclei3d_pseudo_labels"
    np.testing.assert_allclose(image.scale, (0.29, 0.26, 0.26))
    (mri,) = viewer.open(str(sample_paths("mri")[0]), plugin="bioimg")
    np.testing.assert_allclose(mri.scale, (5.0, 4.0, 4.0))


def test_open_dicom_file(viewer):
    pydicom_data = pytest.importorskip("pydicom.data")
    layers = viewer.open(pydicom_data.get_testdata_file("MR_small.dcm"), plugin="bioimg")
    assert layers and layers[0].data.ndim >= 2 and all(s > 0 for s in layers[0].scale)


def test_corrupt_file_raises_clear_error(viewer, tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff at all")
    n = len(viewer.layers)
    with pytest.raises(Exception, match="broken.tif"):
        viewer.open(str(bad), plugin="bioimg")
    assert len(viewer.layers) == n


@pytest.mark.parametrize("ext", [".tif", ".ome.tif", ".nii.gz"])
def test_write_and_read_back_keeps_spacing(viewer, tmp_path, ext):
    from bioimg.io import read

    image, labels = viewer.open_sample("bioimg", "nuclei3d")
    for layer in (image, labels):
        out = tmp_path / f"{layer.name.replace(' ', '_')}{ext}"
        written = layer.save(str(out), plugin="bioimg")
        assert written and out.exists()
        back = read(out)
        assert back.shape == layer.data.shape
        np.testing.assert_allclose(back.spacing, layer.scale, rtol=1e-5)
        np.testing.assert_array_equal(back.data, layer.data)
    (reopened,) = viewer.open(str(tmp_path / f"nuclei3d_pseudo_labels{ext}"), plugin="bioimg")
    assert type(reopened).__name__ == "Labels"


def test_write_mri_as_nifti_keeps_affine(viewer, tmp_path):
    from bioimg.io import read

    (layer,) = viewer.open_sample("bioimg", "mri")
    out = tmp_path / "mri_copy.nii.gz"
    layer.save(str(out), plugin="bioimg")
    a, b = read(sample_paths("mri")[0]), read(out)
    assert b.spacing == a.spacing and b.unit == a.unit
    np.testing.assert_allclose(b.metadata["affine"], a.metadata["affine"])


def test_write_painted_labels_layer_without_metadata(viewer, tmp_path):
    from bioimg.io import read

    layer = viewer.add_labels(np.zeros((20, 30), np.int32), scale=(0.5, 0.25))
    layer.data[2:5, 3:9] = 3
    out = tmp_path / "painted.tif"
    layer.save(str(out), plugin="bioimg")
    back = read(out)
    assert back.axes == "YX" and back.spacing == (0.5, 0.25) and back.data.max() == 3
