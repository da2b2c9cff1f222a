"""``bioimg evaluate PRED GT``: tables, JSON, folders and exit codes."""
import json

import numpy as np
import pytest
import tifffile

from bioimg.cli import main
from bioimg.metrics import match_instances, match_instances_at


def _labels(shift=1, shape=(16, 16)):
    gt = np.zeros(shape, np.uint16)
    gt[0:4, 0:4] = 1       # matched with IoU 0.6
    gt[8:12, 8:12] = 5     # matched exactly
    pred = np.zeros_like(gt)
    pred[0:4, shift:4 + shift] = 3
    pred[8:12, 8:12] = 9
    return pred, gt


def _write(path, arr):
    tifffile.imwrite(path, arr, photometric="minisblack")
    return str(path)


@pytest.fixture
def pair(tmp_path):
    pred, gt = _labels()
    return _write(tmp_path / "pred.tif", pred), _write(tmp_path / "gt.tif", gt)


def test_single_pair_table(pair, capsys):
    rc = main(["evaluate", *pair])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("image"))
    assert header.split() == ["image", "thresh", "tp", "fp", "fn", "precision", "recall", "f1",
                              "accuracy", "mean_matched_iou", "panoptic_quality"]
    rows = [line.split() for line in lines if line.startswith("pred.tif")]
    assert [r[1] for r in rows] == ["0.50", "0.70"]
    assert rows[0][2:5] == ["2", "0", "0"] and rows[0][9] == "0.8000"  # (0.6 + 1) / 2
    assert rows[1][2:5] == ["1", "1", "1"]


def test_json_output_atomic_and_exact(pair, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["evaluate", *pair, "--all-thresholds", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "average precision" in text
    report = json.loads(out.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    pred, gt = _labels()
    expected = match_instances_at(pred, gt)
    got = report["images"][0]["instance"]
    assert len(got) == 10
    assert got == json.loads(json.dumps(expected))
    assert report["images"][0]["average_precision"] == pytest.approx(
        np.mean([m["accuracy"] for m in expected]))
    assert "total" not in report


def test_custom_thresholds_and_3d(tmp_path, capsys):
    gt = np.zeros((4, 8, 8), np.uint16)
    gt[0:2, 0:4, 0:4] = 2
    pred = np.roll(gt, 1, axis=2)  # 24 of 40 voxels: IoU 0.6
    p, g = _write(tmp_path / "p.tif", pred), _write(tmp_path / "g.tif", gt)
    assert main(["evaluate", p, g, "--thresholds", "0.55", "0.65", "--json", str(tmp_path / "o.json")]) == 0
    rep = json.loads((tmp_path / "o.json").read_text())["images"][0]["instance"]
    assert [(m["thresh"], m["tp"]) for m in rep] == [(0.55, 1), (0.65, 0)]
    assert rep[0]["mean_matched_iou"] == pytest.approx(0.6)


def test_folders_paired_by_name_with_total(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    pred, gt = _labels()
    _write(tmp_path / "p" / "a.tif", pred)
    _write(tmp_path / "g" / "a.tiff", gt)
    _write(tmp_path / "p" / "b.tif", np.zeros_like(gt))
    _write(tmp_path / "g" / "b.tif", gt)
    _write(tmp_path / "p" / "c.tif", gt)  # no GT partner
    (tmp_path / "g" / "notes.txt").write_text("not an image")
    rc = main(["evaluate", str(tmp_path / "p"), str(tmp_path / "g"), "--json", str(tmp_path / "o.json")])
    cap = capsys.readouterr()
    assert rc == 0
    assert "no GT for c" in cap.err
    names = [line.split()[0] for line in cap.out.splitlines() if line[:1] in "ab("]
    assert names == ["a.tif", "a.tif", "b.tif", "b.tif", "(all)", "(all)"]
    rep = json.loads((tmp_path / "o.json").read_text())
    tot = rep["total"]["instance"][0]
    assert (tot["tp"], tot["fn"], tot["n_true"]) == (2, 2, 4)
    single = match_instances(pred, gt)
    assert tot["mean_matched_iou"] == pytest.approx(single["mean_matched_iou"])


def test_semantic_and_both(tmp_path, capsys):
    gt = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], np.uint8)
    pred = np.array([[0, 1, 1, 1], [0, 0, 1, 1]], np.uint8)
    p, g = _write(tmp_path / "p.tif", pred), _write(tmp_path / "g.tif", gt)
    out = tmp_path / "s.json"
    assert main(["evaluate", p, g, "--semantic", "--num-classes", "3", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Per-class IoU" in text and "Instance" not in text
    sem = json.loads(out.read_text())["images"][0]["semantic"]
    assert sem["iou"]["0"] == pytest.approx(3 / 4) and sem["iou"]["1"] == pytest.approx(4 / 5)
    assert sem["iou"]["2"] is None  # absent class: NaN in Python, null in JSON
    assert sem["mean_iou"] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert main(["evaluate", p, g, "--semantic", "--instance"]) == 0
    text = capsys.readouterr().out
    assert "Per-class IoU" in text and "Instance matching" in text


@pytest.mark.parametrize("case", ["shape", "missing", "mixed", "thresh", "float_labels", "corrupt"])
def test_bad_input_exit_code_2(tmp_path, capsys, case):
    pred, gt = _labels()
    p, g = _write(tmp_path / "p.tif", pred), _write(tmp_path / "g.tif", gt)
    args = {
        "shape": [p, _write(tmp_path / "g2.tif", np.zeros((16, 17), np.uint16))],
        "missing": [p, str(tmp_path / "nope.tif")],
        "mixed": [p, str(tmp_path)],
        "thresh": [p, g, "--thresholds", "1.5"],
        "float_labels": [_write(tmp_path / "f.tif", pred.astype(np.float32) + 0.5), g],
        "corrupt": [p, str(tmp_path / "bad.tif")],
    }[case]
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    assert main(["evaluate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bioimg evaluate: error:") and len(err.splitlines()) == 1
    if case == "shape":
        assert "shapes (16, 16) and (16, 17) differ" in err
    if case == "float_labels":
        assert "f.tif" in err and "integer" in err


def test_stack_reads_a_folder_of_slices_as_one_volume(tmp_path, capsys):
    gt = np.zeros((3, 8, 8), np.uint16)
    gt[0:2, 0:4, 0:4] = 4
    gt[2, 5:8, 5:8] = 6
    (tmp_path / "slices").mkdir()
    for z in range(3):
        _write(tmp_path / "slices" / f"z{z}.tif", gt[z])
    g = _write(tmp_path / "gt.tif", gt)
    out = tmp_path / "o.json"
    assert main(["evaluate", str(tmp_path / "slices"), g, "--stack", "--json", str(out)]) == 0
    m = json.loads(out.read_text())["images"][0]["instance"][0]
    assert (m["tp"], m["n_true"], m["n_pred"], m["mean_matched_iou"]) == (2, 2, 2, 1.0)


def test_class_mask_against_instance_ids_is_binarized(tmp_path, capsys):
    gt = np.zeros((40, 40), np.uint16)
    for i in range(4):
        for j in range(4):
            gt[10 * i + 2:10 * i + 7, 10 * j + 2:10 * j + 7] = 1 + 4 * i + j  # 16 objects
    pred = np.where(gt > 0, 2, 1).astype(np.uint8)  # a class map: 1 = background, 2 = nuclei
    files = _write(tmp_path / "pred.tif", pred), _write(tmp_path / "gt.tif", gt)
    rc = main(["evaluate", *files, "--json", str(tmp_path / "m.json"), "--semantic", "--instance"])
    captured = capsys.readouterr()
    assert rc == 0
    assert "PRED holds classes but GT holds object ids" in captured.err
    report = json.loads((tmp_path / "m.json").read_text())["images"][0]
    assert [m["tp"] for m in report["instance"]] == [16, 16]
    assert report["semantic"]["num_classes"] == 2 and report["semantic"]["mean_iou"] == 1.0
