"""Preprocess and Evaluate widgets end to end in a real viewer (2D and 3D), and their bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def cli_preprocess(src, tmp_path, *options) -> np.ndarray:
    """What ``bioimg preprocess`` writes for the same image and options."""
    from bioimg.cli import main
    from bioimg.io import read

    out = tmp_path / "cli.tif"
    assert main(["preprocess", str(src), str(out), *options]) == 0
    return read(out)


@pytest.mark.parametrize("sample", ["nuclei2d", "nuclei3d", "mri"])
def test_preprocess_diffusion_matches_cli(viewer, dock, click, wait, notes, sample, tmp_path):
    from bioimg.sample import sample_paths

    source = viewer.open_sample("bioimg", sample)[0]
    w = dock(viewer, "Preprocess")
    w.image.value = source
    w.niter.value = 3
    click(w)
    assert w.busy and w.button.text() == "Cancel"
    wait(w)
    assert not notes.errors, notes.errors
    out = viewer.layers[f"{source.name} preprocessed"]
    assert out.data.shape == source.data.shape and out.data.dtype == np.float32
    np.testing.assert_allclose(out.scale, source.scale)
    cli = cli_preprocess(sample_paths(sample)[0], tmp_path, "--diffusion", "--niter", "3")
    np.testing.assert_array_equal(out.data, cli.data)  # same function, same defaults as the CLI
    assert w.progress.value() == w.progress.maximum()
    click(w)  # a second run updates the layer instead of adding another
    wait(w)
    assert sum(layer.name.startswith(f"{source.name} preprocessed") for layer in viewer.layers) == 1


def test_preprocess_isotropic_and_normalization_match_cli(viewer, dock, click, wait, notes, tmp_path):
    from bioimg.sample import sample_paths

    (mri,) = viewer.open_sample("bioimg", "mri")
    w = dock(viewer, "Preprocess")
    w.image.value = mri
    w.isotropic.value, w.niter.value = True, 2
    w.method.value, w.clip.value = "percentile", True
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    out = viewer.layers["mri preprocessed"]
    cli = cli_preprocess(sample_paths("mri")[0], tmp_path, "--isotropic", "--diffusion", "--niter", "2",
                         "--normalize", "percentile", "--clip")
    np.testing.assert_allclose(out.scale, cli.spacing)
    np.testing.assert_allclose(out.scale, (4.0, 4.0, 4.0))
    np.testing.assert_array_equal(out.data, cli.data)
    assert out.data.min() >= 0 and out.data.max() <= 1


def test_preprocess_without_spacing(viewer, dock, click, wait, notes):
    from bioimg.preprocess import anisotropic_diffusion

    (mri,) = viewer.open_sample("bioimg", "mri")
    w = dock(viewer, "Preprocess")
    w.image.value = mri
    w.niter.value, w.use_spacing.value = 2, False
    click(w)
    wait(w)
    np.testing.assert_allclose(viewer.layers["mri preprocessed"].data, anisotropic_diffusion(mri.data, niter=2))


def test_preprocess_bad_inputs_are_notifications(viewer, dock, click, notes):
    w = dock(viewer, "Preprocess")
    click(w)  # no image layer at all
    assert "choose an image layer" in notes.errors[-1]
    viewer.open_sample("bioimg", "nuclei2d")
    w.diffusion.value = False
    w.method.value = "none"
    click(w)
    assert "nothing to do" in notes.errors[-1]
    w.method.value, w.pmin.value, w.pmax.value = "percentile", 99.0, 10.0
    w.diffusion.value = True
    click(w)
    assert "low percentile" in notes.errors[-1]
    assert len(viewer.layers) == 2 and not w.busy


def test_preprocess_cancel_keeps_partial_result(viewer, dock, click, wait, qtbot):
    (layer,) = viewer.open_sample("bioimg", "mri")
    w = dock(viewer, "Preprocess")
    w.image.value = layer
    w.niter.value = 5000
    click(w)
    qtbot.waitUntil(lambda: w.progress.maximum() > 1, timeout=20000)
    click(w)  # Cancel
    wait(w)
    assert "mri preprocessed" in viewer.layers
    assert "cancelled early" in w.status.text()


def test_evaluate_instances_2d(viewer, dock, click, wait, notes):
    from bioimg.metrics import match_instances_at

    _, gt = viewer.open_sample("bioimg", "nuclei2d")
    pred_data = np.roll(gt.data, 2, axis=1)  # shifted masks: some matches fail at 0.7
    pred = viewer.add_labels(pred_data, name="shifted")
    w = dock(viewer, "Evaluate")
    w.pred.value, w.gt.value = pred, gt
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    expected = match_instances_at(pred_data, gt.data, (0.5, 0.7))
    assert [r["f1"] for r in w.rows] == [m["f1"] for m in expected]
    assert w.table.columnCount() == 2 and w.table.horizontalHeaderItem(1).text() == "IoU 0.70"
    assert w.table.verticalHeaderItem(0).text() == "tp"


def test_evaluate_semantic_3d(viewer, dock, click, wait, notes):
    _, gt = viewer.open_sample("bioimg", "nuclei3d")
    classes = viewer.add_labels((gt.data > 0).astype(np.uint8), name="fg", scale=gt.scale)
    w = dock(viewer, "Evaluate")
    w.pred.value, w.gt.value = classes, classes
    click(w)
    assert "same layer" in notes.errors[-1]
    w.gt.value = viewer.add_labels((gt.data > 0).astype(np.uint8), name="fg copy")
    w.mode.value = "per-class IoU / Dice"
    click(w)
    wait(w)
    assert w.rows[-1]["class"] == "mean" and w.rows[-1]["iou"] == 1.0


def test_evaluate_bad_inputs(viewer, dock, click, notes):
    _, gt = viewer.open_sample("bioimg", "nuclei2d")
    other = viewer.add_labels(np.zeros((10, 10), np.uint8), name="small")
    w = dock(viewer, "Evaluate")
    w.pred.value, w.gt.value = other, gt
    click(w)
    assert "shapes differ" in notes.errors[-1]
    w.pred.value = viewer.add_labels(gt.data.copy(), name="copy")
    w.thresholds.value = "0.5 high"
    click(w)
    assert "thresholds must be numbers" in notes.errors[-1]
    w.thresholds.value = "1.5"
    click(w)
    assert "[0, 1]" in notes.errors[-1]
    assert w.table.rowCount() == 0


def test_preprocess_time_series_uses_current_time_point(viewer, dock, click, wait, notes):
    data = np.random.default_rng(0).normal(100, 10, (3, 4, 16, 16)).astype(np.float32)
    layer = viewer.add_image(data, name="movie", scale=(1.0, 2.0, 0.5, 0.5))
    viewer.dims.set_current_step(0, 2)
    w = dock(viewer, "Preprocess")
    w.image.value, w.niter.value = layer, 1
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    out = viewer.layers["movie preprocessed"]
    assert out.data.shape == (4, 16, 16)
    np.testing.assert_allclose(out.scale, (2.0, 0.5, 0.5))
    from bioimg.preprocess import anisotropic_diffusion
    np.testing.assert_allclose(out.data, anisotropic_diffusion(data[2], niter=1, spacing=(4.0, 1.0, 1.0)))


def test_preprocess_rgb_diffuses_channels_separately(viewer, dock, click, wait, notes):
    rgb = np.zeros((24, 24, 3), np.uint8)
    rgb[4:12, 4:12, 0] = 200
    layer = viewer.add_image(rgb, name="rgb", rgb=True)
    w = dock(viewer, "Preprocess")
    w.image.value, w.niter.value = layer, 2
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    out = viewer.layers["rgb preprocessed"]
    assert out.rgb and out.data.shape == rgb.shape
    assert out.data[..., 1:].max() == 0  # no bleeding between colour channels


def test_evaluate_preselects_newest_prediction_and_another_layer(viewer, dock, click, wait, notes):
    _, gt = viewer.open_sample("bioimg", "nuclei2d")
    w = dock(viewer, "Evaluate")
    assert w.pred.value.name == w.gt.value.name == gt.name  # one Labels layer: nothing better to offer yet
    viewer.add_labels(np.roll(gt.data, 1, axis=0), name="nuclei2d instances")
    assert w.pred.value.name == "nuclei2d instances" and w.gt.value.name == gt.name
    viewer.add_labels(np.zeros((5, 5), np.uint8), name="scribble")  # a new layer keeps the choices
    assert w.pred.value.name == "nuclei2d instances" and w.gt.value.name == gt.name
    viewer.add_labels(gt.data.copy(), name="nuclei2d classes")  # a newer prediction takes over
    assert w.pred.value.name == "nuclei2d classes" and w.gt.value.name == gt.name
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    assert w.summary.startswith("F1@0.5 1.00 · F1@0.7 1.00")
    assert w.status.text().splitlines()[0] == w.summary  # the one-line summary comes first


def test_evaluate_classes_against_instances_binarizes(viewer, dock, click, wait, notes):
    from scipy import ndimage as ndi

    from bioimg.metrics import match_instances_at

    _, gt = viewer.open_sample("bioimg", "nuclei2d")
    assert len(np.unique(gt.data)) > 60
    semantic = np.where(gt.data > 0, 2, 1).astype(np.uint8)  # sparse-trained segment: 1 = background
    w = dock(viewer, "Evaluate")
    w.pred.value = viewer.add_labels(semantic, name="nuclei2d classes")
    w.gt.value = gt
    click(w)
    wait(w)
    assert not notes.errors, notes.errors
    assert any("connected foreground regions" in m for m in notes.warnings), notes.warnings
    components = ndi.label(gt.data > 0, structure=np.ones((3, 3)))[0]
    expected = match_instances_at(components, gt.data, (0.5, 0.7))
    assert [r["tp"] for r in w.rows] == [m["tp"] for m in expected]
    assert w.rows[0]["tp"] > 40 and w.rows[0]["fp"] < 20  # not "TP 0, FP 2, FN 73"
    assert "foreground IoU 1.00" in w.summary

    w.mode.value = "per-class IoU / Dice"
    click(w)
    wait(w)
    assert [r["class"] for r in w.rows] == ["0", "1", "mean"]  # background/foreground, not 75 rows
    assert w.rows[-1]["iou"] == 1.0 and w.table.rowCount() == 3
    assert any("foreground vs background" in m for m in notes.warnings)
