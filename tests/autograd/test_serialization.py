"""autograd.save / autograd.load: exact round trips, atomic writes, and refusal of hostile files."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import autograd
from autograd import nn, optim
from autograd.serialization import SerializationError


class Net(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w = nn.Parameter(rng.standard_normal((3, 4)).astype(np.float32))
        self.b = nn.Parameter(np.zeros(4, np.float32))
        self.register_buffer("count", autograd.tensor([7, 8], dtype=autograd.int64))
        self.register_buffer("mask", autograd.tensor([True, False]))

    def forward(self, x):
        return ((x @ self.w + self.b) ** 2).mean()


def roundtrip(obj):
    buf = io.BytesIO()
    autograd.save(obj, buf)
    buf.seek(0)
    return autograd.load(buf)


def assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, autograd.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_model_state_dict_round_trip(tmp_path):
    net = Net()
    sd = net.state_dict()
    path = tmp_path / "model.ag"
    autograd.save(sd, path)
    loaded = autograd.load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == ["w", "b", "count", "mask"]
    assert_same(sd, loaded)
    other = Net(seed=1)
    other.load_state_dict(loaded)
    np.testing.assert_array_equal(other.w.detach().numpy(), net.w.detach().numpy())


def test_parameters_and_mixed_values_round_trip():
    p = nn.Parameter(np.arange(6, dtype=np.float64).reshape(2, 3))
    obj = {
        "param": p, "frozen": nn.Parameter(np.ones(2, np.float32), requires_grad=False),
        "tensor": autograd.tensor([1.5, 2.5]), "grad_leaf": autograd.zeros(2).requires_grad_(),
        1: "int key", 2.5: "float key", (1, "a"): "tuple key", None: "none key", "bools": {True: "t", False: "f"},
        "scalars": [0, -3, 2**70, 1.25, -0.0, float("inf"), -float("inf"), float("nan"), "ünï", "", True, None],
        "nested": ({"a": [1, (2, 3)]}, []), "empty": {}, "od": OrderedDict([("z", 1), ("a", 2)]),
        "arrays": [np.arange(5, dtype=np.uint8), np.float16([1.5]), np.zeros((0, 3)), np.array(3.0),
                   np.arange(12.0).reshape(3, 4).T, np.asfortranarray(np.ones((2, 3))),
                   np.array([1 + 2j], np.complex64), np.array([True, False])],
        "np_scalars": [np.float32(0.1), np.int64(-5), np.bool_(True)],
    }
    out = roundtrip(obj)
    assert_same(obj, out)
    assert isinstance(out["param"], nn.Parameter) and out["param"].requires_grad
    assert not out["frozen"].requires_grad and out["grad_leaf"].requires_grad and out["grad_leaf"].is_leaf
    assert type(out["np_scalars"][0]) is np.float32 and out["scalars"][2] == 2**70
    assert math.copysign(1, out["scalars"][4]) == -1
    assert out["arrays"][0].flags.writeable


def test_tied_arrays_are_stored_once_and_share_memory_after_load():
    w = autograd.randn(4, 4)
    obj = {"enc": w, "dec": w.detach(), "raw": w.numpy()}
    buf = io.BytesIO()
    autograd.save(obj, buf)
    assert len([n for n in zipfile.ZipFile(buf).namelist() if n.endswith(".npy")]) == 1
    buf.seek(0)
    out = autograd.load(buf)
    assert np.shares_memory(out["enc"].numpy(), out["dec"].numpy())
    assert np.shares_memory(out["enc"].numpy(), out["raw"])


def _train(net, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = autograd.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        opt.zero_grad()
        net(x).backward()
        opt.step()


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01}], lr=0.05, amsgrad=True),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
], ids=["adam", "sgd", "rmsprop", "adagrad"])
def test_continued_training_after_load_is_identical(tmp_path, make_opt):
    net = Net()
    opt = make_opt(list(net.parameters()))
    _train(net, opt, 3, seed=0)
    path = tmp_path / "ckpt.ag"
    autograd.save({"model": net.state_dict(), "optim": opt.state_dict(), "epoch": 3}, str(path))
    _train(net, opt, 4, seed=1)  # uninterrupted

    ckpt = autograd.load(path)
    osd = ckpt["optim"]
    assert all(isinstance(k, int) for k in osd["state"]) and isinstance(osd["param_groups"][0]["params"], list)
    if "betas" in osd["param_groups"][0]:
        assert osd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert_same(opt.state_dict()["param_groups"], osd["param_groups"])
    net2 = Net(seed=5)
    net2.load_state_dict(ckpt["model"])
    opt2 = make_opt(list(net2.parameters()))
    opt2.load_state_dict(osd)
    _train(net2, opt2, 4, seed=1)  # resumed
    for p, q in zip(net.parameters(), net2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "w.ag"
    autograd.save({"v": 1}, path)
    autograd.save({"v": 2}, path)
    assert autograd.load(path) == {"v": 2}
    with pytest.raises(TypeError, match="cannot save object"):
        autograd.save({"v": object()}, path)
    with pytest.raises(TypeError, match="object array"):
        autograd.save(np.array([None, 1]), path)
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="cycle"):
        autograd.save(cyclic, path)
    assert autograd.load(path) == {"v": 2}  # failed saves left the old file intact
    assert sorted(os.listdir(tmp_path)) == ["w.ag"]


def test_same_object_gives_identical_bytes(tmp_path):
    sd = Net().state_dict()
    autograd.save(sd, tmp_path / "a")
    autograd.save(sd, tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


# -- hostile and corrupt files ---------------------------------------------------
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _manifest(root) -> bytes:
    return json.dumps({"format": "autograd", "version": 1, "root": root}).encode()


def _npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _hostile_files(marker):
    payload = pickle.dumps(_Payload(str(marker)))
    obj_arr = np.empty(1, dtype=object)
    obj_arr[0] = _Payload(str(marker))
    good = io.BytesIO()
    autograd.save({"w": autograd.ones(3)}, good)
    tensor = {"type": "tensor", "data": "data/0.npy", "requires_grad": False}
    huge_header = _npy(np.zeros(1, np.float64)).replace(b"(1,)", b"(10000000000000,)".ljust(4))
    return {
        "random bytes": np.random.default_rng(0).bytes(2000),
        "empty file": b"",
        "truncated archive": good.getvalue()[: len(good.getvalue()) // 2],
        "plain pickle": payload,
        "zip with a pickle entry": _zip({"manifest.json": _manifest(tensor), "data/0.npy": payload}),
        "zip with an object .npy": _zip({"manifest.json": _manifest(tensor),
                                         "data/0.npy": _npy(obj_arr, allow_pickle=True)}),
        "pickled manifest": _zip({"manifest.json": payload}),
        "torch-style archive": _zip({"archive/data.pkl": payload, "archive/version": b"3"}),
        "unknown extra entry": _zip({"manifest.json": _manifest(tensor), "data/0.npy": _npy(np.ones(3)),
                                     "payload.pkl": payload}),
        "unreferenced array entry": _zip({"manifest.json": _manifest(1), "data/0.npy": _npy(np.ones(3))}),
        "missing entry": _zip({"manifest.json": _manifest(tensor)}),
        "manifest not json": _zip({"manifest.json": b"{not json"}),
        "manifest with NaN constant": _zip({"manifest.json": b'{"format":"autograd","version":1,"root":NaN}'}),
        "wrong format": _zip({"manifest.json": json.dumps({"format": "other", "root": 1}).encode()}),
        "future version": _zip({"manifest.json": json.dumps({"format": "autograd", "version": 99,
                                                             "root": 1}).encode()}),
        "unknown node type": _zip({"manifest.json": _manifest({"type": "pickle", "data": "x"})}),
        "bare list node": _zip({"manifest.json": _manifest([1, 2])}),
        "path traversal reference": _zip({"manifest.json": _manifest({**tensor, "data": "../../etc/passwd"})}),
        "unhashable key": _zip({"manifest.json": _manifest({"type": "dict", "items": [[
            {"type": "list", "items": []}, 1]]})}),
        "huge declared shape": _zip({"manifest.json": _manifest(tensor), "data/0.npy": huge_header}),
        "no manifest": _zip({"data/0.npy": _npy(np.ones(3))}),
        "short array data": _zip({"manifest.json": _manifest(tensor), "data/0.npy": _npy(np.ones(3))[:-8]}),
        "corrupted bytes (bad CRC)": good.getvalue().replace(np.ones(3, np.float32).tobytes(),
                                                             np.zeros(3, np.float32).tobytes()),
    }


@pytest.mark.parametrize("case", list(_hostile_files("unused")))
def test_hostile_or_corrupt_files_are_rejected_without_running_code(tmp_path, case):
    marker = tmp_path / "pwned"
    data = _hostile_files(marker)[case]
    path = tmp_path / "evil.ag"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="evil.ag") as err:
        autograd.load(path)
    assert isinstance(err.value, SerializationError)
    with pytest.raises(SerializationError):
        autograd.load(io.BytesIO(data))
    assert not marker.exists()


def test_pickle_payload_is_live():
    """Guard for the test above: the payload really would create the marker if unpickled."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        marker = os.path.join(d, "m")
        pickle.loads(pickle.dumps(_Payload(marker))).close()
        assert os.path.exists(marker)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        autograd.load(tmp_path / "nope.ag")
