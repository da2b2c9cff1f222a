"""The CPU-only device surface: devices, ``.to``, ``torch.cuda``/``backends``/``accelerator``, amp."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import autograd as torch
from autograd import nn


# -- torch.device ------------------------------------------------------------
def test_device_fields_str_repr_and_equality():
    d = torch.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device(type='cuda', index=1)")
    assert torch.device("cuda", 1) == d and torch.device(d) == d
    assert torch.device("cuda") != torch.device("cuda:0")  # no index is not index 0, as in PyTorch
    cpu = torch.device("cpu")
    assert (cpu.type, cpu.index, str(cpu), repr(cpu)) == ("cpu", None, "cpu", "device(type='cpu')")
    assert cpu == "cpu" and cpu != "cuda" and cpu != 3
    assert len({torch.device("cpu"), torch.device("cpu"), torch.device("cuda")}) == 2
    assert torch.device(type="cuda", index=0) == torch.device("cuda:0")


@pytest.mark.parametrize("bad, msg", [("gpu", "Expected one of cpu, cuda"), ("cuda:x", "Invalid device string"),
                                      ("cuda:-1", "Invalid device string")])
def test_device_rejects_bad_names(bad, msg):
    with pytest.raises(RuntimeError, match=msg):
        torch.device(bad)


def test_device_choice_idiom_picks_cpu():
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    acc = torch.accelerator.current_accelerator() or torch.device("cpu")
    assert dev == acc == torch.device("cpu")
    x = torch.ones(2, 3).to(dev)
    assert x.device == dev and x.device.type == "cpu" and str(x.device) == "cpu"
    with torch.device("cpu"):
        assert torch.zeros(1).device == "cpu"


# -- Tensor.to / cuda ---------------------------------------------------------
def test_tensor_to_signatures():
    x = torch.tensor([1.5, 2.5], requires_grad=True)
    assert x.to("cpu") is x and x.to(torch.device("cpu")) is x and x.cpu() is x
    assert x.to("cpu", torch.float64).dtype == torch.float64
    assert x.to(device="cpu", dtype=torch.float16).dtype == torch.float16
    assert x.to(torch.zeros(1, dtype=torch.int64)).dtype == torch.int64
    assert x.to(memory_format=torch.channels_last) is x
    y = x.to("cpu", copy=True)
    assert y is not x and y.tolist() == [1.5, 2.5] and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert (x.is_cuda, x.is_xpu, x.is_mps, x.is_cpu) == (False, False, False, True)
    assert x.contiguous(memory_format=torch.channels_last) is x
    assert x.clone(memory_format=torch.contiguous_format).tolist() == [1.5, 2.5]
    assert torch.empty(2, 3, memory_format=torch.contiguous_format).shape == (2, 3)
    assert torch.zeros_like(x, memory_format=torch.preserve_format).tolist() == [0.0, 0.0]
    assert torch.full_like(x, 3.0, memory_format=torch.channels_last).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("call", [lambda x: x.to("cuda"), lambda x: x.to(torch.device("cuda", 0)),
                                  lambda x: x.to(device="mps"), lambda x: x.cuda(), lambda x: x.to("cuda", torch.float64)])
def test_tensor_to_accelerator_says_cpu_only(call):
    with pytest.raises(RuntimeError, match="autograd runs on the CPU only"):
        call(torch.ones(2))


def test_module_to_cuda_cpu_consistent():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert m.to("cpu") is m and m.cpu() is m and m.to(torch.device("cpu")) is m
    m.to(torch.device("cpu"), torch.float64)
    assert m[0].weight.dtype == torch.float64 and m[1].num_batches_tracked.dtype == torch.int64
    m.to(torch.zeros(1))  # dtype of the tensor
    assert m[0].weight.dtype == torch.float32
    for call in (lambda: m.cuda(), lambda: m.to("cuda:0"), lambda: m.to(device="cuda")):
        with pytest.raises(RuntimeError, match="CPU only"):
            call()
    with pytest.raises(TypeError, match="floating point"):
        m.to(torch.int64)


# -- torch.cuda, accelerator, backends, flags --------------------------------------
def test_cuda_namespace_answers_no_cuda():
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    torch.cuda.manual_seed(1)
    torch.cuda.manual_seed_all(1)
    torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated() == 0 and not torch.cuda.is_initialized()
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.cuda.synchronize()
    assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
    assert torch.accelerator.device_count() == 0


def test_backends_flags_are_settable():
    cudnn = torch.backends.cudnn
    assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == (False, False, True)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert cudnn.benchmark and cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = False, False
    assert torch.backends.mps.is_available() is False and torch.backends.mps.is_built() is False
    assert torch.backends.cudnn.is_available() is False


def test_global_flags():
    torch.set_float32_matmul_precision("high")
    assert torch.get_float32_matmul_precision() == "high"
    torch.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="matmul precision"):
        torch.set_float32_matmul_precision("fast")
    torch.use_deterministic_algorithms(True)
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    assert torch.get_num_threads() >= 1
    assert repr(torch.channels_last) == "torch.channels_last"


# -- autocast and GradScaler ---------------------------------------------------
def test_autocast_is_a_dtype_preserving_context_and_decorator():
    x = torch.ones(2, 2)
    with torch.autocast("cpu", enabled=False):
        assert (x @ x).dtype == torch.float32
    with pytest.warns(UserWarning, match="disabled"):
        ctx = torch.amp.autocast("cuda")
    with ctx:
        assert (x @ x).dtype == torch.float32
    with pytest.warns(UserWarning):
        with torch.cuda.amp.autocast():
            pass

    @torch.autocast("cpu", enabled=False)
    def f(a):
        return a * 2

    assert f(x).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.raises(ValueError, match="str"):
        torch.autocast(torch.device("cpu"))
    assert not torch.is_autocast_enabled()


def _one_step(scaler, grad_value=None):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5)
    loss = (w * torch.tensor([3.0, 4.0])).sum()
    scaler.scale(loss).backward()
    if grad_value is not None:
        w.grad.data.fill_(grad_value)
    scaler.step(opt)
    scaler.update()
    return w


@pytest.mark.parametrize("make", [lambda: torch.amp.GradScaler(enabled=False),
                                  lambda: torch.cuda.amp.GradScaler(enabled=False)])
def test_disabled_grad_scaler_passes_through(make):
    s = make()
    assert not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    loss = torch.tensor(2.0)
    assert s.scale(loss) is loss
    assert _one_step(s).tolist() == [-0.5, 0.0]
    s.load_state_dict({})


def test_cuda_grad_scaler_disables_itself_as_pytorch_does():
    with pytest.warns(UserWarning, match="CPU only. Disabling"):
        s = torch.cuda.amp.GradScaler()
    assert not s.is_enabled()
    assert _one_step(s).tolist() == [-0.5, 0.0]


def test_cpu_grad_scaler_scales_unscales_and_backs_off():
    s = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    assert s.scale(torch.tensor(2.0)).item() == 16.0
    assert _one_step(s).tolist() == [-0.5, 0.0]  # the step sees unscaled gradients
    assert s.state_dict() == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                              "growth_interval": 2, "_growth_tracker": 1}
    _one_step(s)
    assert s.get_scale() == 16.0  # grew after growth_interval clean steps
    w = _one_step(s, grad_value=float("inf"))
    assert w.tolist() == [1.0, 2.0] and s.get_scale() == 8.0  # inf: step skipped, scale halved
    s2 = torch.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == 8.0


# -- serialization and samplers --------------------------------------------
def test_save_whole_module_is_refused_with_the_state_dict_way(tmp_path):
    with pytest.raises(TypeError, match=r"torch.save\(model.state_dict\(\), path\)"):
        torch.save(nn.Linear(2, 2), tmp_path / "m.pt")
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "m.pt")


def test_random_sampler_with_replacement_draws_lazily():
    s = torch.utils.data.RandomSampler(range(7), replacement=True, num_samples=10**10,
                                       generator=torch.Generator().manual_seed(0))
    assert len(s) == 10**10
    head = list(itertools.islice(iter(s), 100))  # would need 74.5 GiB if drawn at once
    assert len(head) == 100 and set(head) <= set(range(7)) and len(set(head)) > 1
    small = torch.utils.data.RandomSampler(range(3), replacement=True, num_samples=70)
    assert len(list(small)) == 70


def test_dropout2d_on_3d_input_warns_and_drops_channels():
    m = nn.Dropout2d(0.5)
    x = torch.ones(4, 6, 5)
    with pytest.warns(UserWarning, match="3D input"):
        y = m(x).numpy()
    per_channel = y.reshape(4, 6, 5)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_no_warning_for_plain_cpu_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.ones(1).to("cpu")
        torch.amp.GradScaler("cpu")
        torch.amp.GradScaler(enabled=False)


def test_creation_on_an_accelerator_is_refused_and_strings_compare_unequal():
    """PyTorch without an accelerator refuses device="cuda" on creation; a tensor never equals a string."""
    import pytest

    import autograd as torch

    for make in (lambda: torch.zeros(2, device="cuda"), lambda: torch.tensor([1.0], device="cuda:0"),
                 lambda: torch.randn(2, device=torch.device("cuda")), lambda: torch.ones(1).pin_memory()):
        with pytest.raises(RuntimeError):
            make()
    x = torch.ones(2)
    assert torch.zeros(2, device="cpu").tolist() == [0.0, 0.0]
    assert (x == "a") is False and (x != "a") is True and not x.is_pinned()
    assert x.get_device() == -1
