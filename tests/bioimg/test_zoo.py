"""bioimage.io packages: `bioimg export` passes bioimageio.core's test; packages predict/fine-tune."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from bioimg.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def nuclei_model(tmp_path_factory):
    """A short training on the nuclei sample (instance task, tiny U-Net)."""
    from bioimg.io import read
    from bioimg.modelfile import save_model
    from bioimg.sample import sample_paths
    from bioimg.training import TrainConfig, fit

    img_path, lab_path = sample_paths("nuclei2d")
    image, labels = read(img_path), read(lab_path)
    cfg = TrainConfig(task="instance", epochs=1, steps_per_epoch=4, batch_size=2, patch_size=(64, 64),
                      model_kwargs={"depth": 2, "base_width": 4})
    model = fit([image], [labels], cfg)
    return save_model(model, tmp_path_factory.mktemp("zoo") / "nuclei.bioimg")


@pytest.fixture(scope="module")
def package(nuclei_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "nuclei.zip"
    assert main(["export", str(nuclei_model), "--output", str(out), "--author", "Ada Lovelace",
                 "--pixel-size", "0.5", "--unit", "um"]) == 0
    return out


def test_exported_package_passes_bioimageio_test(package):
    core = pytest.importorskip("bioimageio.core")
    summary = core.test_model(str(package))
    failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details if d.status != "passed"]
    assert summary.status == "passed", failed
    assert any("onnx" in d.name.lower() for d in summary.details)  # the weights really ran


def test_package_content_spec_terms(package):
    import yaml
    zf = zipfile.ZipFile(package)
    assert {"rdf.yaml", "weights.onnx", "test_input.npy", "test_output.npy", "README.md",
            "cover.png"} <= set(zf.namelist())
    rdf = yaml.safe_load(zf.read("rdf.yaml"))
    inp, out = rdf["inputs"][0], rdf["outputs"][0]
    assert inp["preprocessing"][0]["id"] == "scale_range"
    assert inp["preprocessing"][0]["kwargs"]["max_percentile"] == 99.8
    assert [a["type"] for a in inp["axes"]] == ["batch", "channel", "space", "space"]
    assert inp["axes"][2]["unit"] == "micrometer" and inp["axes"][2]["scale"] == 0.5
    assert out["postprocessing"] == [{"id": "softmax", "kwargs": {"axis": "channel"}}]
    assert out["axes"][1]["channel_names"] == ["background", "interior", "boundary"]
    assert rdf["authors"] == [{"name": "Ada Lovelace"}] and rdf["cite"][0]["doi"]
    assert "watershed" in zf.read("README.md").decode()
    assert zf.read("cover.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_onnxruntime_equals_bioimg_prediction_on_test_tensors(package, nuclei_model):
    from bioimg.modelfile import load_model
    from bioimg.zoo._export import _forward, _normalized
    zf = zipfile.ZipFile(package)
    import io
    x = np.load(io.BytesIO(zf.read("test_input.npy")))
    y = np.load(io.BytesIO(zf.read("test_output.npy")))
    model = load_model(nuclei_model)
    xn = _normalized(x, model.info.normalization)
    np.testing.assert_allclose(_forward(model.net, xn, "instance"), y, atol=1e-6)
    sess = ort.InferenceSession(zf.read("weights.onnx"), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"raw": xn})[0]
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(1, keepdims=True), y, atol=1e-4)


def test_predict_with_package_equals_bioimg_model(package, nuclei_model, tmp_path):
    from bioimg.inference import predict
    from bioimg.io import read
    from bioimg.modelfile import load_model
    from bioimg.sample import sample_paths
    img = read(sample_paths("nuclei2d")[0])
    a = predict(load_model(nuclei_model), img, probabilities=True)
    b = predict(load_model(package), img, probabilities=True)
    np.testing.assert_allclose(b.probabilities, a.probabilities, atol=1e-5)
    np.testing.assert_array_equal(b.labels, a.labels)
    assert main(["predict", "--model", str(package), str(sample_paths("nuclei2d")[0]),
                 "--output", str(tmp_path / "out")]) == 0
    assert list((tmp_path / "out").glob("*_labels*"))


def test_train_init_from_package(package, tmp_path):
    from bioimg.sample import sample_paths
    img, lab = sample_paths("nuclei2d")
    out = tmp_path / "tuned.bioimg"
    assert main(["train", "--task", "instance", "--image", str(img), "--labels", str(lab),
                 "--init", str(package), "--out", str(out), "--epochs", "1",
                 "--steps-per-epoch", "2", "--patch-size", "64", "--batch-size", "2"]) == 0
    assert out.is_file()


def _rewrite(package, dest, edit):
    import yaml
    src = zipfile.ZipFile(package)
    with zipfile.ZipFile(dest, "w") as zf:
        for name in src.namelist():
            data = src.read(name)
            if name == "rdf.yaml":
                rdf = yaml.safe_load(data)
                edit(rdf)
                data = yaml.safe_dump(rdf).encode()
            zf.writestr(name, data)
    return dest


def test_foreign_package_runs_through_the_onnx_importer(package, nuclei_model, tmp_path):
    """Without bioimg's config the graph itself is imported (any zoo package with ONNX weights)."""
    from bioimg.modelfile import load_model
    foreign = _rewrite(package, tmp_path / "foreign.zip", lambda rdf: rdf.pop("config"))
    model = load_model(foreign)
    assert model.info.architecture == "onnx" and model.info.task == "segment"
    assert model.info.normalization["method"] == "percentile" and model.info.axes == "YX"
    assert model.net.size_multiple == 4
    native = load_model(nuclei_model)
    import autograd as torch
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 32, 32)).astype(np.float32))
    with torch.no_grad():
        np.testing.assert_allclose(model.net(x).numpy(), native.net(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("edit, needle", [
    (lambda rdf: rdf.update(weights={"pytorch_state_dict": {"source": "w.pt"}}), "no ONNX weights"),
    (lambda rdf: rdf["weights"]["onnx"].update(sha256="0" * 64), "sha256"),
    (lambda rdf: rdf.update(format_version="0.4.10"), "0.4.10"),
])
def test_bad_packages_are_one_line_errors(package, tmp_path, capsys, edit, needle):
    bad = _rewrite(package, tmp_path / "bad.zip", edit)
    assert main(["predict", "--model", str(bad), "x.tif", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_export_onnx_only_and_bad_input(nuclei_model, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(nuclei_model), "--output", str(out)]) == 0
    onnx.checker.check_model(onnx.load(out), full_check=True)
    for argv, needle in ((["export", str(tmp_path / "none.bioimg"), "-o", str(tmp_path / "a.zip")],
                          "no such model file"),
                         (["export", str(nuclei_model), "-o", str(tmp_path / "b.zip"), "--cite", "x"],
                          "--cite"),
                         (["export", str(nuclei_model), "-o", str(tmp_path / "c.zip"),
                           "--pixel-size", "0,1"], "--pixel-size")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.zip").exists() and not (tmp_path / "c.zip").exists()


@pytest.mark.parametrize("task, arch, cfg", [
    ("classify", "classifier", {"in_channels": 1, "num_classes": 3, "ndim": 2, "widths": [4, 8]}),
    ("denoise", "autoencoder", {"in_channels": 1, "ndim": 3, "depth": 1, "base_width": 4}),
    ("segment", "unet", {"in_channels": 1, "out_channels": 2, "ndim": 3, "depth": 1, "base_width": 4,
                         "norm": "group"}),
])
def test_other_models_export_valid_packages(tmp_path, task, arch, cfg):
    core = pytest.importorskip("bioimageio.core")
    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo
    from bioimg.models import build_model
    from bioimg.zoo import export_model, load_package
    torch.manual_seed(0)
    nd = cfg["ndim"]
    model = BioimgModel(build_model(arch, **cfg).eval(),
                        ModelInfo(task=task, architecture=arch, config=cfg, axes="ZYX"[-nd:],
                                  patch_size=[16] * nd, normalization={"method": "zscore"},
                                  class_names=["a", "b", "c"] if task == "classify" else []))
    out = export_model(model, tmp_path / "p.zip")
    summary = core.test_model(str(out))
    assert summary.status == "passed", [(d.name, [e.msg for e in d.errors]) for d in summary.details]
    back = load_package(out)
    assert back.info.task == task and back.info.normalization == {"method": "zscore"}
