"""Batch processing on dask: ``run_batch`` and the batch modes of ``predict``/``preprocess``."""
import threading
import time

import numpy as np
import pytest
import tifffile

from bioimg.cli import main
from bioimg.scale import BatchResult, run_batch

distributed = pytest.importorskip("distributed")


def _square(x):
    if x == 3:
        raise ValueError("three is bad")
    time.sleep(0.01 * (5 - x))  # later items finish first
    return x * x


@pytest.fixture(scope="module")
def cluster():
    """An in-process dask cluster (one worker, one thread)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as lc:
        yield lc


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, blobs2d_module):
    from bioimg.training import TrainConfig, fit

    image, labels = blobs2d_module
    cfg = TrainConfig(task="instance", epochs=1, steps_per_epoch=2, batch_size=2, patch_size=(32, 32),
                      model_kwargs={"depth": 1, "base_width": 4})
    path = tmp_path_factory.mktemp("model") / "tiny.bioimg"
    fit(image, labels, cfg).save(path)
    return path


@pytest.fixture(scope="module")
def blobs2d_module():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    labels = np.zeros((64, 64), np.uint16)
    for k, (cy, cx) in enumerate([(12, 12), (12, 44), (44, 20), (46, 48)], 1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 36] = k
    image = (labels > 0) * 200.0 + 20 + rng.normal(0, 10, labels.shape)
    return image.astype(np.float32), labels


@pytest.fixture
def images(tmp_path, blobs2d_module):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        tifffile.imwrite(src / f"im{i}.tif", np.roll(blobs2d_module[0], 5 * i, axis=1))
    return src


@pytest.mark.parametrize("workers", [1, 3])
def test_run_batch_threads_order_errors_progress(workers):
    seen, threads = [], set()

    def progress(res):
        seen.append(res.item)
        threads.add(threading.current_thread().name)

    res = run_batch(range(5), _square, workers=workers, progress=progress)
    assert [r.item for r in res] == list(range(5))
    assert [r.value for r in res] == [0, 1, 4, None, 16]
    assert [r.ok for r in res] == [True, True, True, False, True]
    assert res[3].error == "three is bad" and res[3].seconds >= 0
    assert sorted(seen) == list(range(5))
    assert threads == {threading.current_thread().name}  # callbacks in the caller's thread
    assert run_batch([], _square) == []


def test_run_batch_distributed(cluster):
    seen = []
    res = run_batch([1, 2, 3, 4], _square, scheduler=cluster.scheduler_address, progress=seen.append)
    assert all(isinstance(r, BatchResult) for r in res)
    assert [r.item for r in res] == [1, 2, 3, 4]
    assert [r.value for r in res] == [1, 4, None, 16]
    assert not res[2].ok and "three is bad" in res[2].error
    assert len(seen) == 4


def test_predict_distributed_failure_and_resume(cluster, model_path, images, tmp_path, capsys):
    (images / "im1.tif").write_bytes(b"not a tiff at all")  # fails mid-batch
    out = tmp_path / "pred"
    argv = ["predict", str(images), "--model", str(model_path), "--output", str(out)]
    assert main(argv + ["--scheduler", cluster.scheduler_address]) == 2
    cap = capsys.readouterr()
    assert (out / "im0_labels.tif").exists() and (out / "im2_labels.tif").exists()
    assert not (out / "im1_labels.tif").exists()
    errors = [line for line in cap.err.splitlines() if "error" in line]
    assert len(errors) == 1 and "im1.tif" in errors[0]
    assert "2 file(s) predicted" in cap.out and "1 failed" in cap.out and "objects" in cap.out

    (images / "im1.tif").unlink()
    assert main(argv + ["--workers", "2"]) == 0  # second run: everything already there
    text = capsys.readouterr().out
    assert text.count("skipped (exists)") == 2 and "0 file(s) predicted" in text

    before = (out / "im0_labels.tif").stat().st_mtime_ns
    assert main(argv + ["--overwrite", "--workers", "2"]) == 0
    assert "2 file(s) predicted" in capsys.readouterr().out
    assert (out / "im0_labels.tif").stat().st_mtime_ns >= before


def test_predict_threads_match_sequential(model_path, images, tmp_path):
    for workers, name in ((1, "a"), (2, "b")):
        assert main(["predict", str(images / "*.tif"), "--model", str(model_path),
                     "--output", str(tmp_path / name), "--workers", str(workers)]) == 0
    for i in range(3):
        np.testing.assert_array_equal(tifffile.imread(tmp_path / "a" / f"im{i}_labels.tif"),
                                      tifffile.imread(tmp_path / "b" / f"im{i}_labels.tif"))


def test_preprocess_batch(cluster, images, tmp_path, capsys):
    (images / "im2.tif").write_bytes(b"corrupt")
    out = tmp_path / "norm"
    argv = ["preprocess", str(images), str(out), "--normalize", "minmax"]
    assert main(argv + ["--scheduler", cluster.scheduler_address]) == 2
    cap = capsys.readouterr()
    assert (out / "im0.tif").exists() and (out / "im1.tif").exists() and not (out / "im2.tif").exists()
    assert "im2.tif" in cap.err and "2 image(s) preprocessed" in cap.out
    res = tifffile.imread(out / "im0.tif")
    assert res.dtype == np.float32 and res.min() == 0 and res.max() == 1

    (images / "im2.tif").unlink()
    assert main(["preprocess", str(images / "im*.tif"), str(out), "--normalize", "minmax",
                 "--workers", "2"]) == 0
    assert capsys.readouterr().out.count("skipped (exists)") == 2


def test_batch_options_need_batch_mode(images, tmp_path, capsys):
    assert main(["preprocess", str(images / "im0.tif"), str(tmp_path / "x.tif"), "--workers", "2"]) == 2
    assert "batch mode" in capsys.readouterr().err
    assert main(["preprocess", str(images / "*.tif"), str(tmp_path / "x.tif")]) == 2
