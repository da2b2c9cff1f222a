"""Classification metrics, PSNR/SSIM and the plain-text table."""
import math

import numpy as np
import pytest

from bioimg.metrics import accuracy, confusion_matrix, format_table, per_class_report, psnr, ssim


# --- classification ---------------------------------------------------------

def test_accuracy():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert accuracy(np.array(["a", "b"]), np.array(["a", "a"])) == 0.5
    assert math.isnan(accuracy([], []))
    with pytest.raises(ValueError, match="shapes"):
        accuracy([0, 1], [0])


def test_confusion_matrix_hand_computed():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    cm = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert cm.dtype == np.int64
    assert confusion_matrix(y_true, y_pred, num_classes=4).shape == (4, 4)
    assert confusion_matrix([], [], num_classes=2).sum() == 0
    with pytest.raises(ValueError, match="out of range"):
        confusion_matrix(y_true, y_pred, num_classes=2)
    with pytest.raises(ValueError, match="integer"):
        confusion_matrix([0.5], [1])


def test_per_class_report():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    rows = per_class_report(y_true, y_pred, num_classes=4, class_names=["bg", "a", "b", "c"])
    assert [r["name"] for r in rows] == ["bg", "a", "b", "c"]
    a = rows[1]
    assert a["precision"] == pytest.approx(2 / 3) and a["recall"] == pytest.approx(2 / 3)
    assert a["f1"] == pytest.approx(2 / 3) and a["support"] == 3
    b = rows[2]
    assert (b["precision"], b["recall"], b["support"]) == (0.5, 1.0, 1)
    assert b["f1"] == pytest.approx(2 / 3)
    assert all(math.isnan(rows[3][k]) for k in ("precision", "recall", "f1"))
    assert rows[3]["support"] == 0
    # never predicted but present: 0, not NaN (scikit-learn's zero_division=0)
    r = per_class_report([0, 1], [0, 0])[1]
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    assert "name" not in r
    with pytest.raises(ValueError, match="class names"):
        per_class_report([0, 1], [0, 1], num_classes=3, class_names=["x"])


# --- denoising --------------------------------------------------------------

def test_psnr_values():
    ref = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert psnr(ref, ref) == math.inf
    assert psnr(ref, ref + 0.1) == pytest.approx(20.0)
    assert psnr(ref, ref + 0.1, data_range=10.0) == pytest.approx(40.0)
    # default range is the reference's (100), not uint16's 65535
    ref16 = np.array([[100, 200], [150, 120]], np.uint16)
    noisy = ref16 + np.array([[1, 0], [0, 1]], np.uint16)
    assert psnr(ref16, noisy) == pytest.approx(10 * np.log10(100**2 / 0.5))
    assert psnr(ref.astype(np.float32), (ref + 0.1).astype(np.float32)) == pytest.approx(20.0, abs=1e-4)


def test_psnr_errors():
    with pytest.raises(ValueError, match="constant"):
        psnr(np.ones((3, 3)), np.zeros((3, 3)))
    assert psnr(np.ones((3, 3)), np.zeros((3, 3)), data_range=1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="shapes"):
        psnr(np.ones((3, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        psnr(np.array([0.0, np.nan]), np.zeros(2))


def test_ssim_2d_3d():
    rng = np.random.default_rng(0)
    ref = rng.random((32, 32)).astype(np.float32)
    assert ssim(ref, ref) == 1.0
    slightly = ssim(ref, ref + rng.normal(0, 0.05, ref.shape).astype(np.float32))
    very = ssim(ref, ref + rng.normal(0, 0.5, ref.shape).astype(np.float32))
    assert 0 < very < slightly < 1
    stack = rng.random((5, 24, 24))  # 5 slices < default window 7
    val = ssim(stack, stack + rng.normal(0, 0.1, stack.shape))
    assert 0 < val < 1
    with pytest.raises(ValueError, match="too small"):
        ssim(rng.random((2, 24)), rng.random((2, 24)))


# --- table ------------------------------------------------------------------

def test_format_table_alignment():
    rows = [{"name": "a", "iou": 0.5, "tp": 3},
            {"name": "long name", "iou": float("nan"), "tp": np.int64(12)}]
    text = format_table(rows)
    assert text.splitlines() == [
        "name          iou  tp",
        "---------  ------  --",
        "a          0.5000   3",
        "long name     nan  12",
    ]


def test_format_table_columns_and_missing():
    rows = [{"a": 1, "b": np.float32(0.25)}, {"a": 2, "c": "x"}]
    lines = format_table(rows, columns=["c", "b"], floatfmt=".2f").splitlines()
    assert lines[0].split() == ["c", "b"]
    assert lines[2].split() == ["0.25"]
    assert lines[3].split() == ["x"]
    assert format_table([]) == ""
    assert format_table([], columns=["x"]) == "x\n-"
    assert "inf" in format_table([{"psnr": math.inf}])
    assert "True" in format_table([{"ok": True}])
