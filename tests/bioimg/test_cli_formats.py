"""``bioimg predict`` / ``denoise`` outputs follow the input's format and geometry.

NIfTI in -> NIfTI out with the same affine/sform/qform; DICOM in -> NIfTI out
with the affine derived from the DICOM geometry; OME-TIFF in -> OME-TIFF out
with PhysicalSize; plain TIFF -> TIFF. Files are read back with nibabel and
tifffile, not with bioimg, so both sides of a round trip cannot share a bug.
"""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import tifffile

from bioimg.cli import main
from bioimg.cli.predict import expected_outputs, outputs_exist
from bioimg.io import read

FAST = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--depth", "1",
        "--base-width", "4"]


def _blob_mask(shape, rng):
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    centre = [s // 2 + rng.integers(-2, 3) for s in shape]
    r2 = sum(((g - c) / (s / 4)) ** 2 for g, c, s in zip(grids, centre, shape))
    return (r2 <= 1).astype(np.uint8)


def _affine():
    """Rotated about z, anisotropic voxels, off-centre origin: nothing a default would match."""
    c, s = np.cos(0.3), np.sin(0.3)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.9, 1.1, 2.5])
    aff[:3, 3] = [-40.0, 12.5, 7.0]
    return aff


@pytest.fixture(scope="module")
def model2d(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("m2d")
    rng = np.random.default_rng(0)
    lab = _blob_mask((64, 64), rng)
    tifffile.imwrite(tmp / "img.tif", (lab * 2 + rng.random((64, 64))).astype(np.float32))
    tifffile.imwrite(tmp / "lab.tif", lab)
    assert main(["train", "--image", str(tmp / "img.tif"), "--labels", str(tmp / "lab.tif"),
                 "--out", str(tmp / "m.bioimg"), "--patch-size", "32"] + FAST) == 0
    return tmp / "m.bioimg"


@pytest.fixture(scope="module")
def nifti_case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nii")
    rng = np.random.default_rng(1)
    lab = _blob_mask((24, 20, 12), rng)  # nibabel order (x, y, z)
    img = nib.Nifti1Image((lab * 100 + rng.random(lab.shape) * 20).astype(np.float32), _affine())
    img.set_qform(_affine(), code=1)
    img.set_sform(_affine(), code=4)
    nib.save(img, tmp / "t1.nii.gz")
    nib.save(nib.Nifti1Image(lab, _affine()), tmp / "mask.nii.gz")
    assert main(["train", "--image", str(tmp / "t1.nii.gz"), "--labels", str(tmp / "mask.nii.gz"),
                 "--out", str(tmp / "m3d.bioimg"), "--patch-size", "8,16,16"] + FAST) == 0
    return tmp


def test_nifti_in_nifti_out_with_affine(nifti_case, capsys):
    tmp, out = nifti_case, nifti_case / "pred"
    assert main(["predict", str(tmp / "t1.nii.gz"), "--model", str(tmp / "m3d.bioimg"),
                 "--output", str(out), "--probabilities"]) == 0
    src = nib.load(tmp / "t1.nii.gz")
    labels = nib.load(out / "t1_labels.nii.gz")
    probs = nib.load(out / "t1_probabilities.nii.gz")
    assert labels.shape == src.shape and probs.shape == src.shape + (2,)
    for written in (labels, probs):
        np.testing.assert_allclose(written.affine, src.affine, atol=1e-5)
        np.testing.assert_allclose(written.get_sform(), src.get_sform(), atol=1e-5)
        np.testing.assert_allclose(written.get_qform(), src.get_qform(), atol=1e-5)
        assert int(written.header["sform_code"]) == 4 and int(written.header["qform_code"]) == 1
        np.testing.assert_allclose(written.header.get_zooms()[:3], src.header.get_zooms()[:3], rtol=1e-5)
    p = np.asanyarray(probs.dataobj)
    assert p.dtype == np.float32 and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-4)
    # a resumed batch finds these outputs and skips the file
    assert outputs_exist(out, "t1", True, ".nii.gz") and not outputs_exist(out, "t1", True)
    capsys.readouterr()
    assert main(["predict", str(tmp / "t1.nii.gz"), "--model", str(tmp / "m3d.bioimg"),
                 "--output", str(out), "--probabilities"]) == 0
    assert "1 skipped" in capsys.readouterr().out


def test_dicom_in_nifti_out(model2d, tmp_path):
    pydicom_data = pytest.importorskip("pydicom.data")
    dcm = pydicom_data.get_testdata_file("MR_small.dcm")
    out = tmp_path / "pred"
    assert main(["predict", dcm, "--model", str(model2d), "--output", str(out), "--probabilities"]) == 0
    source = read(dcm)
    expect = np.array(source.metadata["affine"])
    labels = nib.load(out / "MR_small_labels.nii.gz")
    probs = nib.load(out / "MR_small_probabilities.nii.gz")
    assert labels.shape == (64, 64) and probs.shape == (64, 64, 1, 2)
    for written in (labels, probs):
        np.testing.assert_allclose(written.affine, expect, atol=1e-4)
        assert int(written.header["sform_code"]) == 1  # scanner coordinates
    # the DICOM geometry itself: pixel (0, 0) sits at ImagePositionPatient (LPS -> RAS)
    import pydicom

    ds = pydicom.dcmread(dcm)
    lps = np.array([float(v) for v in ds.ImagePositionPatient])
    np.testing.assert_allclose(labels.affine[:3, 3], lps * [-1, -1, 1], atol=1e-3)
    np.testing.assert_allclose(labels.header.get_zooms()[:2], [float(v) for v in ds.PixelSpacing][::-1],
                               rtol=1e-5)


def test_ome_tiff_in_ome_tiff_out(model2d, tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / "cells.ome.tif"
    tifffile.imwrite(src, rng.random((48, 40)).astype(np.float32), ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.4,
                               "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm"})
    out = tmp_path / "pred"
    assert main(["predict", str(src), "--model", str(model2d), "--output", str(out), "--probabilities"]) == 0
    for name, shape in (("cells_labels.ome.tif", (48, 40)), ("cells_probabilities.ome.tif", (2, 48, 40))):
        with tifffile.TiffFile(out / name) as tif:
            assert tif.is_ome and tif.series[0].shape == shape
            pixels = tif.ome_metadata
        assert 'PhysicalSizeX="0.25"' in pixels and 'PhysicalSizeY="0.4"' in pixels
    assert outputs_exist(out, "cells", True, ".ome.tif")


def test_plain_tiff_stays_tiff(model2d, tmp_path):
    src = tmp_path / "plain.tif"
    tifffile.imwrite(src, np.random.default_rng(3).random((40, 40)).astype(np.float32))
    out = tmp_path / "pred"
    assert main(["predict", str(src), "--model", str(model2d), "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["plain_labels.tif"]
    assert [p.name for p in expected_outputs(out, "plain", False)[0]] == ["plain_labels.tif"]


def test_denoise_nifti_keeps_affine(nifti_case, tmp_path):
    out = tmp_path / "den"
    assert main(["denoise", str(nifti_case / "t1.nii.gz"), "--output", str(out), "--epochs", "1",
                 "--steps-per-epoch", "1", "--patch-size", "8,16,16"]) == 0
    den = nib.load(out / "t1_denoised.nii.gz")
    src = nib.load(nifti_case / "t1.nii.gz")
    assert den.shape == src.shape
    np.testing.assert_allclose(den.affine, src.affine, atol=1e-5)
