"""``bioimg preprocess IN OUT``: each step, their order, spacing handling and exit codes."""
import json

import numpy as np
import pytest

from bioimg.cli import main
from bioimg.io import Image, read, write
from bioimg.preprocess import (anisotropic_diffusion, normalize_percentile, normalize_zscore,
                               rescale_to_isotropic)


@pytest.fixture
def stack(tmp_path):
    """A small anisotropic ZYX stack (2 um in Z, 0.5 um in XY) with an edge."""
    rng = np.random.default_rng(0)
    data = rng.normal(1000, 40, (5, 24, 20))
    data[:, :, 10:] += 2000
    img = Image(data.astype(np.uint16), "ZYX", (2.0, 0.5, 0.5), "micrometer", "stack")
    return str(write(tmp_path / "stack.tif", img)), img


def test_diffusion_uses_relative_spacing_and_keeps_metadata(stack, tmp_path, capsys):
    path, img = stack
    out = tmp_path / "smooth.tif"
    assert main(["preprocess", path, str(out), "--diffusion", "--niter", "4", "--kappa", "100",
                 "--gamma", "0.05", "--option", "2"]) == 0
    res = read(out)
    assert res.dtype == np.float32 and res.shape == img.shape
    assert res.spacing == img.spacing and res.unit == "micrometer"
    expected = anisotropic_diffusion(img.data, 4, 100, 0.05, 2, spacing=(4.0, 1.0, 1.0))
    np.testing.assert_allclose(res.data, expected, rtol=1e-6)
    captured = capsys.readouterr()
    assert "diffusion" in captured.out
    assert "4/4" in captured.err  # tqdm progress goes to stderr


def test_isotropic_then_normalize(stack, tmp_path, capsys):
    path, img = stack
    out = tmp_path / "iso.ome.tif"
    assert main(["preprocess", path, str(out), "--isotropic", "--normalize", "percentile",
                 "--pmin", "2", "--pmax", "98", "--clip"]) == 0
    res = read(out)
    iso, sp = rescale_to_isotropic(img.data, img.spacing)
    assert res.shape == (20, 24, 20) and res.spacing == pytest.approx(sp)
    expected, params = normalize_percentile(iso, 2, 98, clip=True)
    np.testing.assert_allclose(res.data, expected, atol=1e-6)
    line = next(li for li in capsys.readouterr().out.splitlines() if li.startswith("normalization:"))
    assert json.loads(line.split(":", 1)[1]) == params


def test_isotropic_nifti_keeps_its_place_in_world_coordinates(tmp_path):
    """The resampled volume covers the same millimetres: corners and centre stay put."""
    import nibabel as nib

    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # oblique in-plane
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([1.0, 1.0, 3.0])  # x, y 1 mm; z 3 mm
    affine[:3, 3] = [40.0, -20.0, 7.5]
    vol = np.random.default_rng(2).random((12, 10, 4)).astype(np.float32)  # (x, y, z) on disk
    nib.save(nib.Nifti1Image(vol, affine), tmp_path / "mri.nii.gz")
    out = tmp_path / "iso.nii.gz"
    assert main(["preprocess", str(tmp_path / "mri.nii.gz"), str(out), "--isotropic"]) == 0
    new = nib.load(out)
    assert new.shape == (12, 10, 12)
    np.testing.assert_allclose(np.linalg.norm(new.affine[:3, :3], axis=0), [1.0, 1.0, 1.0])

    def world(aff, shape, corner):  # outer corner (-0.5) or far corner (n - 0.5) of the grid
        return aff @ np.r_[[(-0.5 if c == 0 else n - 0.5) for c, n in zip(corner, shape)], 1.0]
    for corner in [(0, 0, 0), (1, 1, 1), (0, 1, 1)]:
        np.testing.assert_allclose(world(new.affine, new.shape, corner), world(affine, vol.shape, corner),
                                   atol=1e-9)
    assert read(out).metadata["orientation"] == "".join(nib.aff2axcodes(affine))


def test_channels_normalised_and_diffused_separately(tmp_path):
    rng = np.random.default_rng(1)
    data = np.stack([rng.normal(100, 5, (16, 16)), rng.normal(5000, 300, (16, 16))]).astype(np.float32)
    path = write(tmp_path / "two.tif", Image(data, "CYX", (1.0, 1.0)))
    out = tmp_path / "two_out.tif"
    assert main(["preprocess", str(path), str(out), "--diffusion", "--niter", "2",
                 "--normalize", "zscore"]) == 0
    res = read(out)
    assert res.axes == "CYX"
    smooth = anisotropic_diffusion(data, 2, axis=0)
    np.testing.assert_allclose(res.data, normalize_zscore(smooth, axis=0)[0], rtol=1e-5, atol=1e-5)
    for c in range(2):
        assert abs(res.data[c].mean()) < 1e-4


def test_nifti_round_trip_and_plain_copy(tmp_path, capsys):
    vol = np.random.default_rng(2).integers(0, 500, (6, 10, 12)).astype(np.int16)
    path = write(tmp_path / "mri.nii.gz", Image(vol, "ZYX", (5.0, 4.0, 4.0), "millimeter"))
    out = tmp_path / "copy.nii.gz"
    assert main(["preprocess", str(path), str(out)]) == 0
    assert "copied" in capsys.readouterr().out
    res = read(out)
    np.testing.assert_array_equal(res.data, vol)
    assert res.spacing == (5.0, 4.0, 4.0)


def test_unstable_gamma_is_a_one_line_warning(stack, tmp_path, capsys):
    path, _ = stack
    assert main(["preprocess", path, str(tmp_path / "o.tif"), "--diffusion", "--niter", "1",
                 "--gamma", "0.5"]) == 0
    err = capsys.readouterr().err
    warn = [li for li in err.splitlines() if "warning" in li]
    assert len(warn) == 1 and "stability limit" in warn[0]


@pytest.mark.parametrize("argv, message", [
    (["--niter", "3"], "--niter needs --diffusion"),
    (["--kappa", "3", "--gamma", "0.1"], "need --diffusion"),
    (["--pmin", "3", "--normalize", "zscore"], "--pmin/--pmax only apply"),
    (["--clip"], "--clip only applies"),
    (["--diffusion", "--kappa", "0"], "--kappa must be > 0"),
    (["--normalize", "percentile", "--pmin", "60", "--pmax", "40"], "--pmin < --pmax"),
])
def test_bad_options_exit_2(stack, tmp_path, capsys, argv, message):
    path, _ = stack
    assert main(["preprocess", path, str(tmp_path / "o.tif"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("bioimg preprocess: error:")


def test_bad_files_exit_2(stack, tmp_path, capsys):
    path, _ = stack
    assert main(["preprocess", str(tmp_path / "missing.tif"), str(tmp_path / "o.tif")]) == 2
    assert main(["preprocess", path, str(tmp_path / "o.png")]) == 2
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    assert main(["preprocess", str(tmp_path / "junk.tif"), str(tmp_path / "o.tif")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(li.startswith("bioimg preprocess: error:") for li in lines)
    assert not (tmp_path / "o.tif").exists()
