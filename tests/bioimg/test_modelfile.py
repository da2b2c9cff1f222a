import io
import json
import zipfile

import numpy as np
import pytest

import autograd as torch
from bioimg.modelfile import BioimgModel, ModelFileError, ModelInfo, load_model, read_info, save_model
from bioimg.models import UNet


def _model():
    torch.manual_seed(0)
    net = UNet(1, 3, depth=1, base_width=4)
    info = ModelInfo(task="instance", architecture="unet", config=net.config, axes="YX",
                     patch_size=[32, 32], normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["background", "interior", "boundary"], history=[{"epoch": 1, "loss": 0.5}])
    return BioimgModel(net, info)


def test_round_trip(tmp_path):
    m = _model()
    p = save_model(m, tmp_path / "m.bioimg")
    m2 = load_model(p)
    assert m2.info == m.info
    x = torch.randn(1, 1, 16, 16)
    m.net.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(m.net(x).numpy(), m2.net(x).numpy())
    info, cfg = read_info(p)
    assert info.class_names[2] == "boundary" and cfg["version"] == 1


def _rewrite(src, dst, fn):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = fn(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)


def test_rejects_tampered_weights(tmp_path):
    p = save_model(_model(), tmp_path / "m.bioimg")
    bad = tmp_path / "bad.bioimg"

    def flip(name, data):
        if name.endswith("0000.npy"):
            arr = np.load(io.BytesIO(data))
            arr = arr + 1
            buf = io.BytesIO()
            np.save(buf, arr)
            return buf.getvalue()
        return data
    _rewrite(p, bad, flip)
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(bad)


def test_rejects_unknown_version_and_pickles(tmp_path):
    p = save_model(_model(), tmp_path / "m.bioimg")
    v2 = tmp_path / "v2.bioimg"
    _rewrite(p, v2, lambda n, d: json.dumps({**json.loads(d), "version": 99}).encode() if n == "config.json" else d)
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(v2)
    marker = tmp_path / "pwned"
    import pickle

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    evil = tmp_path / "evil.bioimg"

    def inject(name, data):
        if name.endswith("0000.npy"):
            buf = io.BytesIO()
            np.save(buf, np.array([Evil()], dtype=object), allow_pickle=True)
            return buf.getvalue()
        return data
    _rewrite(p, evil, inject)
    with pytest.raises(ModelFileError):
        load_model(evil)
    assert not marker.exists()
    del pickle


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_rejects_garbage(tmp_path, content):
    p = tmp_path / "x.bioimg"
    p.write_bytes(content)
    with pytest.raises(ModelFileError, match="x.bioimg"):
        load_model(p)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nope.bioimg")


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    m = _model()
    target = tmp_path / "m.bioimg"
    save_model(m, target)
    before = target.read_bytes()
    import bioimg.modelfile as mf

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(mf.np, "save", boom)
    with pytest.raises(RuntimeError):
        save_model(m, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.bioimg"]
