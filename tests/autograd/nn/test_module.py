"""nn.Module and containers: registration, traversal, modes, state dicts, conversion, repr."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import autograd
import autograd.nn as nn

A = autograd


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(A.ones(1))
        self.register_buffer("steps", A.zeros(1))
        self.register_buffer("cache", A.zeros(2), persistent=False)

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))
        self.shared = self.head[1]  # the same module twice

    def forward(self, x):
        return self.head(self.block(x))


def test_parameters_buffers_children_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.bn.weight",
                     "block.bn.bias", "head.1.weight", "head.1.bias"]
    assert len(list(net.parameters())) == 7  # shared module counted once
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache", "block.bn.running_mean",
                                                  "block.bn.running_var", "block.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["block", "head", "shared"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.bn", "head",
                                                  "head.0", "head.1"]
    assert len(list(net.block.parameters(recurse=False))) == 1
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("head.1.bias") is net.head[1].bias
    with pytest.raises(AttributeError):
        net.nonexistent


def test_train_eval_propagate():
    net = Net()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.head.train(False)
    assert net.training and not net.head[0].training
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    net = Net()
    out = net(A.randn(5, 3)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.block.fc.requires_grad_()
    assert net.block.fc.weight.requires_grad and not net.head[1].weight.requires_grad


def test_state_dict_roundtrip_and_persistent():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert "block.cache" not in sd and "block.steps" in sd
    assert list(sd)[:3] == ["block.scale", "block.steps", "block.fc.weight"]
    assert not sd["block.fc.weight"].requires_grad
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    x = A.randn(4, 3)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # the loaded values are copies: changing a does not change b
    with A.no_grad():
        a.block.fc.weight.fill_(0.0)
    assert b.block.fc.weight.detach().numpy().any()
    assert a.state_dict(keep_vars=True)["block.fc.weight"] is a.block.fc.weight


def test_load_state_dict_strict_errors():
    net = Net()
    sd = net.state_dict()
    del sd["block.fc.bias"]
    sd["extra.weight"] = A.zeros(1)
    sd["head.1.weight"] = A.zeros(3, 3)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "block.fc.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for head.1.weight" in msg and "[3, 3]" in msg and "[2, 4]" in msg
    del sd["head.1.weight"]
    res = net.load_state_dict(sd, strict=False)
    assert "block.fc.bias" in res.missing_keys and res.unexpected_keys == ["extra.weight"]


def test_register_buffer_and_parameter_rules():
    m = nn.Module()
    m.register_buffer("b", A.ones(2), persistent=False)
    assert "b" not in m.state_dict() and [n for n, _ in m.named_buffers()] == ["b"]
    m.register_buffer("b", A.ones(2))
    assert "b" in m.state_dict()
    with pytest.raises(KeyError):
        m.register_buffer("a.b", A.ones(1))
    with pytest.raises(TypeError):
        m.register_parameter("p", A.ones(1))
    m.p = nn.Parameter(A.ones(3))
    assert list(m.parameters())[0] is m.p
    with pytest.raises(TypeError):
        m.p = 3.0
    m.p = None
    assert list(m.parameters()) == []
    del m.b
    assert list(m.buffers()) == []


def test_apply_to_and_double():
    net = Net()
    seen = []
    net.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and "Linear" in seen
    net.apply(lambda mod: nn.init.zeros_(mod.weight) if isinstance(mod, nn.Linear) else None)
    assert not net.block.fc.weight.detach().numpy().any()
    net.to(A.float64)
    assert all(p.dtype == A.float64 for p in net.parameters())
    assert net.block.bn.running_mean.dtype == A.float64
    assert net.block.bn.num_batches_tracked.dtype == A.int64  # integer buffers keep their dtype
    assert net(A.randn(2, 3, dtype=A.float64)).dtype == A.float64
    net.float()
    assert net.block.fc.weight.dtype == A.float32
    with pytest.raises(RuntimeError):
        net.to("cuda")


def test_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h = lin.register_forward_hook(lambda mod, inp, out: calls.append(out.shape))
    pre = lin.register_forward_pre_hook(lambda mod, inp: (inp[0] * 0,))
    out = lin(A.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None])
    assert calls == [(1, 2)]
    h.remove(), pre.remove()
    lin(A.ones(1, 2))
    assert calls == [(1, 2)]


def test_containers():
    seq = nn.Sequential(OrderedDict([("a", nn.Linear(2, 3)), ("act", nn.Tanh()), ("b", nn.Linear(3, 1))]))
    assert seq.a is seq[0] and len(seq) == 3 and isinstance(seq[1:], nn.Sequential)
    assert seq(A.randn(4, 2)).shape == (4, 1)
    seq.append(nn.Sigmoid())
    assert len(seq) == 4
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.ReLU()
    assert list(md.keys()) == ["x", "y"] and "x" in md
    pl = nn.ParameterList([nn.Parameter(A.ones(2)), A.zeros(3)])
    assert len(list(pl.parameters())) == 2 and isinstance(pl[1], nn.Parameter)
    pd = nn.ParameterDict({"w": nn.Parameter(A.ones(1))})
    assert [n for n, _ in pd.named_parameters()] == ["w"]
    holder = nn.Module()
    holder.layers = ml
    assert [n for n, _ in holder.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]


def test_repr():
    net = nn.Sequential(nn.Conv2d(1, 2, 3) if hasattr(nn, "Conv2d") else nn.Identity(),
                        nn.BatchNorm1d(2), nn.ReLU(inplace=True), nn.Linear(2, 1, bias=False))
    text = repr(net)
    assert text.startswith("Sequential(\n  (0): ")
    assert "(1): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)" in text
    assert "(2): ReLU(inplace=True)" in text
    assert "(3): Linear(in_features=2, out_features=1, bias=False)" in text
    assert repr(Net()).count("Linear") == 3  # shared module listed under both names


def test_pickle_refused():
    import pickle
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Net())


def test_state_dict_lists_shared_module_under_every_name():
    sd = Net().state_dict()
    assert "shared.weight" in sd and "head.1.weight" in sd


def test_deepcopy():
    import copy
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.block.fc.weight is not net.block.fc.weight
    np.testing.assert_array_equal(clone.block.fc.weight.detach().numpy(), net.block.fc.weight.detach().numpy())
    assert clone.shared is clone.head[1]  # sharing is preserved
