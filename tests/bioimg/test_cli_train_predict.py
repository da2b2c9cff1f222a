import numpy as np
import pytest
import tifffile

from bioimg.cli import main


@pytest.fixture
def files(tmp_path, blobs2d):
    image, inst = blobs2d
    img, lab = tmp_path / "img.tif", tmp_path / "lab.tif"
    tifffile.imwrite(img, image)
    tifffile.imwrite(lab, inst)
    return tmp_path, img, lab


FAST = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--patch-size", "32",
        "--depth", "2", "--base-width", "4"]


def test_train_predict_evaluate(files, capsys):
    tmp, img, lab = files
    model = tmp / "m.bioimg"
    assert main(["train", "--task", "instance", "--image", str(img), "--labels", str(lab),
                 "--out", str(model)] + FAST) == 0
    assert model.exists()
    out = tmp / "pred"
    assert main(["predict", str(tmp / "img*.tif"), "--model", str(model), "--output", str(out),
                 "--probabilities"]) == 0
    assert (out / "img_labels.tif").exists() and (out / "img_probabilities.tif").exists()
    assert tifffile.imread(out / "img_labels.tif").shape == (64, 64)
    assert main(["evaluate", str(out / "img_labels.tif"), str(lab)]) == 0
    text = capsys.readouterr().out
    assert "model written" in text and "predicted" in text


def test_denoise_cli(files):
    tmp, img, _ = files
    assert main(["denoise", str(img), "--output", str(tmp / "d"), "--epochs", "1",
                 "--steps-per-epoch", "2", "--patch-size", "32", "--save-model", str(tmp / "n2v.bioimg")]) == 0
    den = tifffile.imread(tmp / "d" / "img_denoised.tif")
    assert den.shape == (64, 64) and den.dtype == np.float32


@pytest.mark.parametrize("argv,match", [
    (["train", "--task", "instance", "--image", "missing.tif", "--out", "m.bioimg"], "no such file"),
    (["train", "--task", "segment", "--image", "{img}", "--out", "m.bioimg"], "needs --labels"),
    (["predict", "{img}", "--model", "nope.bioimg", "--output", "o"], "no such model file"),
    (["train", "--task", "instance", "--image", "{img}", "--labels", "{img}", "{img}", "--out", "m"], "label file"),
])
def test_bad_input_exit_code_2(files, capsys, monkeypatch, argv, match):
    tmp, img, _ = files
    monkeypatch.chdir(tmp)
    argv = [a.replace("{img}", str(img)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert match in err[-1] and len([e for e in err if "error" in e]) == 1


def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--time-budget", "2", "--epochs", "1",
                 "--steps-per-epoch", "2", "--patch", "32", "--width", "4"]) == 0
    for name in ("nuclei_test_labels.tif", "nuclei_test_overlay.png", "learning_curve.png",
                 "nuclei_unet.bioimg"):
        assert (tmp_path / name).exists(), name
    out = capsys.readouterr().out
    assert "F1" in out and "Otsu" in out
