"""Volume defaults for one-object segmentation (brain masks): decision, normalization,
augmentation, synthetic surround, slice sampling, clean-up, and a tiny end-to-end run."""
from __future__ import annotations

import numpy as np
import pytest

from bioimg.inference._cleanup import clean_single_object, detach_thin, fill_holes, largest_component
from bioimg.io import Image
from bioimg.preprocess._normalize import normalize_foreground
from bioimg.training import TrainConfig
from bioimg.training.augment import bias_field, intensity_augment, small_affine
from bioimg.training.synth import distance_outside, masked_background, synthetic_surround
from bioimg.training.volume import decide, resample


def _ball(shape, centre, radius):
    grid = np.indices(shape)
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius ** 2


def _volume(shape=(40, 120, 110), radius=50, unit="millimeter", spacing=(1.0, 1.0, 1.0)):
    """A head-like volume: a bright ellipsoid 'brain' inside a shell, mm spacing."""
    zz, yy, xx = np.indices(shape)
    c = [s / 2 for s in shape]
    r = ((zz - c[0]) / (shape[0] / 2.2)) ** 2 + ((yy - c[1]) / radius) ** 2 + ((xx - c[2]) / radius) ** 2
    brain = r <= 1.0
    img = np.where(brain, 200, 0).astype(np.float32)
    return Image(img, "ZYX", spacing, unit, name="vol"), Image(brain.astype(np.uint8), "ZYX", spacing, unit)


# --- decision ---------------------------------------------------------------------------------
def test_decide_triggers_on_physical_single_object_volume():
    img, lab = _volume()
    plan = decide([img], [lab], TrainConfig(task="segment"))
    assert plan is not None
    extent = 2 * 50 + 1  # the object's largest extent in mm
    assert plan.spacing == pytest.approx(extent / 88, rel=0.05)
    assert plan.patch[0] % 8 == 0 and plan.patch[0] >= 88
    assert "working grid" in plan.message and "\n" not in plan.message
    assert plan.extra()["volume"]["mode"] == "slices2d"


@pytest.mark.parametrize("change", ["pixel_unit", "instance_task", "off", "two_objects", "small", "multiclass",
                                    "patch3d"])
def test_decide_declines(change):
    img, lab = _volume()
    cfg = TrainConfig(task="segment")
    if change == "pixel_unit":
        img = Image(img.data, "ZYX", (1.0, 1.0, 1.0), "pixel")
    elif change == "instance_task":
        cfg = TrainConfig(task="instance")
    elif change == "off":
        cfg = TrainConfig(task="segment", volume="off")
    elif change == "patch3d":
        cfg = TrainConfig(task="segment", patch_size=(16, 64, 64))
    elif change == "two_objects":
        data = np.zeros(lab.data.shape, np.uint8)
        data[:, 5:55, 5:100] = 1
        data[:, 65:115, 5:100] = 1
        lab = Image(data, "ZYX", lab.spacing, lab.unit)
    elif change == "small":  # an object a default 3D patch already sees whole
        data = np.zeros(lab.data.shape, np.uint8)
        data[10:30, 40:70, 40:70] = 1
        lab = Image(data, "ZYX", lab.spacing, lab.unit)
    elif change == "multiclass":
        data = lab.data.copy()
        data[:, :60][data[:, :60] == 1] = 2
        lab = Image(data, "ZYX", lab.spacing, lab.unit)
    assert decide([img], [lab], cfg) is None


def test_config_rejects_unknown_volume_mode():
    with pytest.raises(ValueError, match="volume"):
        TrainConfig(volume="3d-please")


# --- normalization ----------------------------------------------------------------------------
def test_foreground_normalization_maps_background_and_median():
    rng = np.random.default_rng(0)
    img = np.zeros((30, 30, 30), np.float32)
    img[5:25, 5:25, 5:25] = rng.normal(300, 10, (20, 20, 20))
    out, params = normalize_foreground(img)
    assert np.median(out[5:25, 5:25, 5:25]) == pytest.approx(1.0, abs=0.02)
    assert abs(float(out[0, 0, 0])) < 1e-6
    # gain invariance, and a small very bright structure (scalp fat) barely moves the scale
    out3, _ = normalize_foreground(img * 3.0)
    np.testing.assert_allclose(out3, out, atol=1e-5)
    fat = img.copy()
    fat[5:7, 5:25, 5:25] = 1500
    assert np.median(normalize_foreground(fat)[0][10:20, 10:20, 10:20]) == pytest.approx(1.0, abs=0.1)


def test_foreground_normalization_rejects_empty():
    with pytest.raises(ValueError):
        normalize_foreground(np.zeros((0, 3), np.float32))


# --- resampling -------------------------------------------------------------------------------
def test_resample_shape_and_roundtrip():
    img = np.zeros((40, 60, 50), np.float32)
    img[10:30, 15:45, 10:40] = 1
    small = resample(img, (1.0, 1.0, 1.0), 2.0)
    assert small.shape == (20, 30, 25)
    back = resample(small, (2.0,) * 3, 2.0, shape=img.shape)
    assert back.shape == img.shape
    assert ((back > 0.5) == (img > 0.5)).mean() > 0.97


# --- augmentation and synthetic surround ------------------------------------------------------
def test_intensity_augment_changes_values_but_keeps_shape():
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(1, 0.2, (1, 32, 32))).astype(np.float32)
    y = intensity_augment(x, rng)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert not np.allclose(x, y)
    f = bias_field((16, 16), rng, 0.3)
    assert f.min() >= np.exp(-0.3) - 1e-5 and f.max() <= np.exp(0.3) + 1e-5


def test_small_affine_fills_outside_with_ignore():
    rng = np.random.default_rng(2)
    x = np.ones((1, 40, 40), np.float32)
    t = np.ones((40, 40), np.int64)
    x2, t2 = small_affine(x, t, rng, degrees=30, scale=0.0, fill=0.0, ignore=-1)
    assert x2.shape == x.shape and t2.shape == t.shape
    assert (t2 == -1).any() and set(np.unique(t2)) <= {-1, 1}


def test_synthetic_surround_only_touches_masked_pixels():
    rng = np.random.default_rng(3)
    img = np.zeros((1, 64, 64), np.float32)
    obj = _ball((64, 64), (32, 32), 20)
    img[0][obj] = rng.normal(1, 0.1, obj.sum())
    bg = masked_background(img)
    assert bg is not None and bg.sum() == (~obj).sum()
    dist = distance_outside(bg, (2.0, 2.0))
    out = synthetic_surround(img, dist, rng, pixel=2.0)
    np.testing.assert_array_equal(out[0][obj], img[0][obj])
    assert out[0][~obj].std() > 0.05  # something was drawn there
    assert masked_background(rng.normal(0, 1, (1, 32, 32)).astype(np.float32)) is None


# --- clean-up ---------------------------------------------------------------------------------
def test_largest_component_and_fill_holes():
    m = np.zeros((20, 20, 20), bool)
    m[2:12, 2:12, 2:12] = True
    m[5:8, 5:8, 5:8] = False  # a cavity
    m[15:18, 15:18, 15:18] = True  # a separate blob
    out = clean_single_object(m)
    assert out[6, 6, 6] and not out[16, 16, 16]
    assert out.sum() == 1000
    assert largest_component(np.zeros((3, 3), bool)).sum() == 0


def test_fill_holes_keeps_a_tunnel_open():
    m = np.zeros((12, 12, 12), bool)
    m[1:11, 1:11, 1:11] = True
    m[4:7, 4:7, 0:12] = False  # a tunnel to the outside: not a cavity
    m[8:10, 8:10, 5] = False  # ... but this pocket is closed
    out = fill_holes(m)
    assert not out[5, 5, 5] and out[8, 8, 5]


def test_detach_thin_cuts_a_bridge():
    m = np.zeros((30, 30, 60), bool)
    m[5:25, 5:25, 5:25] = True  # object
    m[14:16, 14:16, 25:40] = True  # thin bridge
    m[8:22, 8:22, 40:52] = True  # attached blob (smaller)
    out = clean_single_object(m, radius=2)
    assert out[15, 15, 10] and not out[15, 15, 45]
    assert out[5, 15, 15] and out[15, 5, 15]  # the object's own faces are kept (corners round off)
    assert detach_thin(m, 0) is m or np.array_equal(detach_thin(m, 0), m)


# --- end to end (tiny) ------------------------------------------------------------------------
def test_tiny_volume_run_trains_2d_on_slices_and_predicts_the_volume(tmp_path):
    from bioimg.inference import predict
    from bioimg.modelfile import load_model, save_model
    from bioimg.training import fit

    img, lab = _volume(shape=(40, 110, 104), radius=48, spacing=(2.0, 1.0, 1.0))
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=2, batch_size=2, seed=0,
                      model_kwargs={"base_width": 4, "depth": 3})
    model = fit([img], [lab], cfg)
    assert model.info.config["ndim"] == 2 and model.info.axes == "YX"
    vol = model.info.extra["volume"]
    assert vol["mode"] == "slices2d" and vol["spacing"] > 1.0
    path = tmp_path / "m.bioimg"
    save_model(model, path)
    loaded = load_model(path)
    pred = predict(loaded, img)
    assert pred.labels.shape == img.data.shape
    assert pred.probabilities.shape == (2,) + img.data.shape
    assert np.isfinite(pred.probabilities).all()
    assert set(np.unique(pred.labels)) <= {0, 1}


@pytest.mark.slow
def test_mni_brain_mask_survives_scanner_changes():
    """Quality: 120 s on the MNI T1, then the same head flipped, cropped, bias field, gamma, noise."""
    from pathlib import Path

    import nibabel as nib
    from scipy import ndimage as ndi

    from bioimg.inference import predict
    from bioimg.training import fit

    mri = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mri"
    if not (mri / "mni152_t1.nii.gz").exists():
        pytest.skip("shared MRI data not available")
    load = lambda n: np.asarray(nib.load(mri / f"mni152_{n}.nii.gz").dataobj, dtype=np.float32).T  # ZYX
    t1, gm, wm = load("t1"), load("gm"), load("wm")
    mask = ndi.binary_fill_holes((gm + wm) / 255 > 0.5)
    sp = (1.0, 1.0, 1.0)
    model = fit([Image(t1, "ZYX", sp, "millimeter")], [Image(mask.astype(np.uint8), "ZYX", sp, "millimeter")],
                TrainConfig(task="segment", time_budget=120, seed=0))
    rng = np.random.default_rng(0)
    sim = t1[4:, 6:-10, ::-1] ** 0.8 * 3.0 * bias_field(t1[4:, 6:-10].shape, rng, 0.25)
    sim = np.hypot(sim + rng.normal(0, 5, sim.shape), rng.normal(0, 5, sim.shape)).astype(np.float32)
    truth = mask[4:, 6:-10, ::-1]
    pred = predict(model, Image(sim, "ZYX", sp, "millimeter")).labels == 1
    dice = 2 * (pred & truth).sum() / (pred.sum() + truth.sum())
    assert dice > 0.9, dice


def test_cli_large_nifti_with_a_volume_model_predicts_in_memory(tmp_path, capsys):
    """Above ``--large-threshold`` a slice-wise volume model is not streamed (it resamples the
    whole volume): ``bioimg predict`` gives the same NIfTI labels as below the threshold."""
    from bioimg.cli import main
    from bioimg.io import read, write
    from bioimg.modelfile import save_model
    from bioimg.training import fit

    img, lab = _volume(shape=(40, 110, 104), radius=48, spacing=(2.0, 1.0, 1.0))
    cfg = TrainConfig(task="segment", epochs=1, steps_per_epoch=2, batch_size=2, seed=0,
                      model_kwargs={"base_width": 4, "depth": 3})
    save_model(fit([img], [lab], cfg), tmp_path / "m.bioimg")
    write(tmp_path / "head.nii.gz", img)
    common = ["predict", str(tmp_path / "head.nii.gz"), "--model", str(tmp_path / "m.bioimg")]
    assert main(common + ["--output", str(tmp_path / "small")]) == 0
    assert main(common + ["--output", str(tmp_path / "big"), "--large-threshold", "0.01"]) == 0
    out = capsys.readouterr()
    assert "error" not in out.err and "reading it lazily" not in out.err
    small, big = read(tmp_path / "small" / "head_labels.nii.gz"), read(tmp_path / "big" / "head_labels.nii.gz")
    assert big.spacing == small.spacing == (2.0, 1.0, 1.0)
    np.testing.assert_array_equal(big.data, small.data)
