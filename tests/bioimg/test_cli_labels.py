"""``bioimg train`` / ``predict`` with label files as users bring them (issue 13).

Binary, instance, multi-class and sparse labels, 2D and 3D, NaN pixels and
bad label files: each run is tiny; what is checked is the printed decision,
the model's output channels, exit codes and that no NaN is ever written.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tifffile

from bioimg.cli import main
from bioimg.io import read
from bioimg.modelfile import read_info
from bioimg.training.labels import MAX_CLASSES

FAST = ["--epochs", "1", "--steps-per-epoch", "2", "--depth", "1", "--base-width", "4",
        "--patch-size", "32", "--batch-size", "2"]


def _train(tmp, image, labels, *extra, name="lab"):
    """Write image + labels as TIFF, run ``bioimg train``; return (rc, model path)."""
    img_p, lab_p, model = tmp / "img.tif", tmp / f"{name}.tif", tmp / f"{name}.bioimg"
    tifffile.imwrite(img_p, image)
    tifffile.imwrite(lab_p, labels)
    rc = main(["train", "--image", str(img_p), "--labels", str(lab_p), "--out", str(model), *FAST, *extra])
    return rc, model


def _out_channels(model) -> int:
    return read_info(model)[0].config["out_channels"]


def _multiclass(inst):
    """Classes 1..3 assigned to objects in turn: each class spans several objects."""
    return np.where(inst > 0, (inst - 1) % 3 + 1, 0).astype(np.uint8)


@pytest.mark.parametrize("make,extra,decision,channels", [
    (lambda i: (i > 0).astype(np.uint8), [], "labels: dense binary mask, 0 = background, 1 = object, 2 classes", 2),
    (lambda i: i > 0, [], "dense binary mask", 2),
    (lambda i: (i > 0).astype(np.uint8) * 255, [], "255 = object, 2 classes", 2),
    (lambda i: i, [], "labels: dense instance mask, 0 = background, 9 object ids -> 2 classes", 2),
    (lambda i: np.where(i == 9, 50000, i).astype(np.uint16), [], "dense instance mask", 2),
    (_multiclass, [], "labels: dense multi-class mask, 0 = background, classes 1..3, 4 classes", 4),
    (lambda i: np.where(i > 0, 2, 1 * (np.arange(64)[None, :] % 4 == 0)).astype(np.uint8),
     ["--label-kind", "sparse"], "labels: sparse painting, 0 = unlabelled, classes 1..2, 2 classes", 2),
    (_multiclass, ["--label-kind", "instance"], "dense instance mask", 2),
])
def test_label_files_decision_and_model(tmp_path, capsys, blobs2d, make, extra, decision, channels):
    image, inst = blobs2d
    rc, model = _train(tmp_path, image, make(inst), *extra)
    out = capsys.readouterr().out
    assert rc == 0 and decision in out
    assert _out_channels(model) == channels
    assert ("use --task instance" in out) == ("instance mask" in decision)


def test_binary_model_predicts_the_mask_values(tmp_path, capsys, blobs2d):
    """A model trained on a 0/1 mask writes 0/1 labels (same meaning), probabilities without NaN."""
    image, inst = blobs2d
    rc, model = _train(tmp_path, image, (inst > 0).astype(np.uint8), "--epochs", "3",
                       "--steps-per-epoch", "10", "--lr", "0.01")
    assert rc == 0
    assert main(["predict", str(tmp_path / "img.tif"), "--model", str(model), "--output",
                 str(tmp_path / "pred"), "--probabilities"]) == 0
    labels = tifffile.imread(tmp_path / "pred" / "img_labels.tif")
    probs = tifffile.imread(tmp_path / "pred" / "img_probabilities.tif")
    assert set(np.unique(labels)) <= {0, 1} and labels.shape == (64, 64)
    assert probs.shape == (2, 64, 64) and np.isfinite(probs).all()
    assert read_info(model)[0].class_names == ["background", "foreground"]


def test_sparse_model_keeps_painting_values(tmp_path, blobs2d):
    image, inst = blobs2d
    sparse = np.where(inst > 0, 2, 1 * (np.arange(64)[None, :] % 4 == 0)).astype(np.uint8)
    rc, model = _train(tmp_path, image, sparse, "--label-kind", "sparse")
    assert rc == 0
    assert main(["predict", str(tmp_path / "img.tif"), "--model", str(model), "--output",
                 str(tmp_path / "pred")]) == 0
    assert set(np.unique(tifffile.imread(tmp_path / "pred" / "img_labels.tif"))) <= {1, 2}


def test_3d_nifti_binary_mask(tmp_path, capsys, blobs3d):
    nib = pytest.importorskip("nibabel")
    image, inst = blobs3d  # (16, 32, 32)
    affine = np.diag([2.0, 1.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(image, affine), tmp_path / "t1.nii.gz")
    nib.save(nib.Nifti1Image((inst > 0).astype(np.uint8), affine), tmp_path / "mask.nii.gz")
    model = tmp_path / "m3d.bioimg"
    argv = ["train", "--image", str(tmp_path / "t1.nii.gz"), "--labels", str(tmp_path / "mask.nii.gz"),
            "--out", str(model), *FAST]
    argv[argv.index("--patch-size") + 1] = "8,16,16"
    assert main(argv) == 0
    assert "labels: dense binary mask, 0 = background, 1 = object, 2 classes" in capsys.readouterr().out
    info = read_info(model)[0]
    assert info.config["out_channels"] == 2 and info.config["ndim"] == 3
    assert main(["predict", str(tmp_path / "t1.nii.gz"), "--model", str(model), "--output",
                 str(tmp_path / "pred"), "--probabilities"]) == 0
    written = sorted(p for p in (tmp_path / "pred").iterdir() if p.name.startswith("t1_labels"))
    labels = read(written[0]).data
    assert labels.shape == read(tmp_path / "t1.nii.gz").shape and set(np.unique(labels)) <= {0, 1}


def test_nan_pixels_train_and_predict(tmp_path, capsys, blobs2d):
    image, inst = blobs2d
    image = image.copy()
    image[:10, :10] = np.nan
    image[20, 20] = np.inf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc, model = _train(tmp_path, image, (inst > 0).astype(np.uint8))
        assert rc == 0
        assert main(["predict", str(tmp_path / "img.tif"), "--model", str(model), "--output",
                     str(tmp_path / "pred"), "--probabilities"]) == 0
    texts = [str(w.message) for w in caught]
    assert any("100 NaN pixels and 1 inf pixels" in t and "loss" in t for t in texts), texts
    assert any("100 NaN pixels" in t and "background" in t for t in texts), texts
    labels = tifffile.imread(tmp_path / "pred" / "img_labels.tif")
    probs = tifffile.imread(tmp_path / "pred" / "img_probabilities.tif")
    assert np.isfinite(probs).all() and (probs[:, :10, :10] == 0).all()
    assert (labels[:10, :10] == 0).all() and labels[20, 20] == 0


def _err(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "error" in line]
    assert len(err) == 1, err
    return err[0]


def _float(values):
    lab = np.zeros((64, 64), np.float32)
    lab[10:20, 10:20] = values
    return lab


BAD = [  # (labels, extra args, message, the message names the file)
    (_float(0.5), [], "non-integer values such as 0.5", True),
    (_float(np.nan), [], "NaN values (100 pixels)", True),
    (_float(-3).astype(np.int16), [], "negative values (min -3)", True),
    (np.zeros((32, 32), np.uint8), [], "does not match the image's spatial shape", True),
    (np.zeros((64, 64), np.uint8), [], "labels are empty", False),
    (np.ones((64, 64), np.uint8), [], "no background pixels", False),
    ((np.arange(64)[None, :] % 4 == 0).astype(np.uint8).repeat(64, 0), ["--label-kind", "sparse"],
     "paint at least two classes", False),
    (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 100, ["--label-kind", "multiclass"],
     f"more than the limit of {MAX_CLASSES}", False),
    (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 6, ["--label-kind", "binary"],
     "labels hold 5 non-zero values", False),
]


@pytest.mark.parametrize("labels,extra,match,named", BAD)
def test_bad_labels_exit_2_one_line(tmp_path, capsys, blobs2d, labels, extra, match, named):
    image, _ = blobs2d
    rc, model = _train(tmp_path, image, labels, *extra)
    assert rc == 2 and not model.exists()
    line = _err(capsys)
    assert match in line, line
    assert not named or "labels 'lab'" in line, line


def test_all_nan_image_exit_2(tmp_path, capsys, blobs2d):
    _, inst = blobs2d
    rc, _ = _train(tmp_path, np.full((64, 64), np.nan, np.float32), (inst > 0).astype(np.uint8))
    assert rc == 2 and "has no finite pixels (4096 NaN, 0 inf)" in _err(capsys)


def test_nan_loss_exit_2(tmp_path, capsys, blobs2d, monkeypatch):
    import autograd as torch
    from bioimg.training.tasks import DenseTask

    monkeypatch.setattr(DenseTask, "loss", lambda self, out, y: (out * torch.tensor(np.float32(np.nan))).sum())
    image, inst = blobs2d
    rc, _ = _train(tmp_path, image, (inst > 0).astype(np.uint8))
    assert rc == 2 and "training diverged at step 0 (loss nan)" in _err(capsys)


def test_subprocess_instance_ids_as_multiclass_fail_cleanly(tmp_path, blobs2d):
    """The installed console entry: a 50000-id mask forced to multiclass is one line, exit 2."""
    image, inst = blobs2d
    tifffile.imwrite(tmp_path / "img.tif", image)
    tifffile.imwrite(tmp_path / "ids.tif", np.where(inst == 9, 50000, inst).astype(np.uint16))
    proc = subprocess.run([sys.executable, "-m", "bioimg", "train", "--image", str(tmp_path / "img.tif"),
                           "--labels", str(tmp_path / "ids.tif"), "--label-kind", "multiclass",
                           "--out", str(tmp_path / "m.bioimg"), *FAST], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "50001 classes is more than the limit" in lines[0]
    assert "--task instance" in lines[0] and "Traceback" not in proc.stderr
