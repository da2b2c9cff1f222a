"""autograd.onnx.load: PyTorch-made ONNX files import exactly; round trips; fine-tuning."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autograd as torch
import autograd.nn as nn

onnx = pytest.importorskip("onnx")
aonnx = pytest.importorskip("autograd.onnx")

FIX = Path(__file__).parents[1] / "fixtures" / "onnx"


def _predict(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("nd", [2, 3])
def test_torch_made_unet_imports_and_matches_committed_output(nd):
    net = aonnx.load(FIX / f"torch_unet{nd}d.onnx")
    x = np.load(FIX / f"torch_unet{nd}d_input.npy")
    expected = np.load(FIX / f"torch_unet{nd}d_output.npy")
    np.testing.assert_allclose(_predict(net, x), expected, atol=1e-4)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's notes on its legacy exporter
@pytest.mark.parametrize("nd", [2, 3])
def test_torch_regenerated_unet_matches_torch(tmp_path, nd):
    pytest.importorskip("torch")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_fixtures", FIX / "make_fixtures.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    path = mk.make(nd, mk.FIXTURES[nd], seed=10 + nd, out_dir=tmp_path)
    got = _predict(aonnx.load(path), np.load(tmp_path / f"torch_unet{nd}d_input.npy"))
    np.testing.assert_allclose(got, np.load(tmp_path / f"torch_unet{nd}d_output.npy"), atol=1e-4)


def test_round_trip_export_load_export_same_outputs(tmp_path):
    from bioimg.models import UNet
    torch.manual_seed(0)
    net = UNet(1, 2, depth=2, base_width=4).eval()
    x = np.random.default_rng(0).standard_normal((1, 1, 16, 16)).astype(np.float32)
    aonnx.export(net, torch.from_numpy(x), tmp_path / "a.onnx")
    first = aonnx.load(tmp_path / "a.onnx")
    aonnx.export(first, torch.from_numpy(x), tmp_path / "b.onnx")
    second = aonnx.load(tmp_path / "b.onnx")
    ref = _predict(net, x)
    np.testing.assert_allclose(_predict(first, x), ref, atol=1e-5)
    np.testing.assert_allclose(_predict(second, x), ref, atol=1e-5)
    a, b = onnx.load(tmp_path / "a.onnx"), onnx.load(tmp_path / "b.onnx")
    assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]


def test_imported_model_fine_tunes_and_switches_bn_mode():
    net = aonnx.load(FIX / "torch_unet2d.onnx")
    assert not net.training
    params = list(net.parameters())
    assert params and all(isinstance(p, nn.Parameter) for p in params)
    x = torch.from_numpy(np.load(FIX / "torch_unet2d_input.npy"))
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    target = torch.zeros(1, 2, 32, 32)
    target[:, 0] = 1.0
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_batchnorm_graph_uses_batch_stats_in_train_mode(tmp_path):
    bn = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    with torch.no_grad():
        bn[1].running_mean.data[...] = 5.0
    aonnx.export(bn, torch.zeros(1, 1, 4, 4), tmp_path / "bn.onnx")
    net = aonnx.load(tmp_path / "bn.onnx")
    x = np.random.default_rng(0).standard_normal((4, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        bn.eval()
        np.testing.assert_allclose(_predict(net, x), bn(torch.from_numpy(x)).numpy(), atol=1e-5)
        bn.train()
        net.train()
        np.testing.assert_allclose(_predict(net, x), bn(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_unsupported_import_op_is_named(tmp_path):
    h = onnx.helper
    node = h.make_node("CumSum", ["x", "axis"], ["y"])
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
                         [onnx.numpy_helper.from_array(np.array(0, np.int64), "axis")])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    with pytest.raises(aonnx.UnsupportedOperatorError, match="CumSum"):
        aonnx.load(model)
