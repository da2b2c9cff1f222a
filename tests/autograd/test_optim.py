"""Optimizers against float64 numpy transcriptions of PyTorch's documented pseudo-code."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import autograd
from autograd import optim

N, STEPS = 6, 8


def init():
    i = np.arange(N)
    return (np.cos(0.9 * i + 0.3) * 1.5).astype(np.float32)


def grad(t):
    i = np.arange(N)
    return (np.sin(1.3 * i + 0.7 * t) * (1 + 0.5 * t) + 0.1 * (i - 2)).astype(np.float32)


# -- reference implementations: PyTorch's docs pseudo-code, float64 ---------------------
def ref_sgd(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    p, b = p.astype(np.float64), None
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.astype(np.float64)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def ref_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             maximize=False, decoupled=False):
    (b1, b2), p = betas, p.astype(np.float64)
    m = v = vmax = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.astype(np.float64)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2 ** t)
        else:
            vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def ref_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    p = p.astype(np.float64)
    v = gavg = b = np.zeros_like(p)
    for g in grads:
        g = -g if maximize else g.astype(np.float64)
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            vt = v - gavg * gavg
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(vt) + eps)
    return p


def ref_adagrad(p, grads, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    p = p.astype(np.float64)
    s = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.astype(np.float64)
        if weight_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


def ref_adamw(p, grads, lr, weight_decay=1e-2, **kw):
    return ref_adam(p, grads, lr, weight_decay=weight_decay, decoupled=True, **kw)


REFS = {"SGD": ref_sgd, "Adam": ref_adam, "AdamW": ref_adamw, "RMSprop": ref_rmsprop, "Adagrad": ref_adagrad}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.5, dampening=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True, maximize=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.03, weight_decay=0.2, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.7, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.4, centered=True, momentum=0.5, eps=1e-4, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]


def run(name, kw, steps=STEPS, p0=None, dtype=np.float32):
    p = autograd.tensor((init() if p0 is None else p0).astype(dtype)).requires_grad_()
    opt = getattr(optim, name)([p], **kw)
    for t in range(steps):
        p.grad = autograd.tensor(grad(t).astype(dtype))
        opt.step()
    return p, opt


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_reference_pseudocode(name, kw):
    p, opt = run(name, kw)
    expected = REFS[name](init(), [grad(t) for t in range(STEPS)], **kw)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=2e-6, atol=2e-6)
    for state in opt.state.values():  # state arrays keep the parameter's dtype
        for key, value in state.items():
            assert value.dtype == np.float32, key


@pytest.mark.parametrize("name,kw", CASES[::3])
def test_float64_params_match_reference_tightly(name, kw):
    p, opt = run(name, kw, dtype=np.float64)
    expected = REFS[name](init(), [grad(t).astype(np.float64) for t in range(STEPS)], **kw)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-12, atol=1e-13)


# Produced with PyTorch 2.13.0 (CPU): p = nn.Parameter(torch.from_numpy(init())); for t in
# range(8): p.grad = torch.from_numpy(grad(t)); opt.step() -- final p.tolist() after 8 steps.
TORCH_GOLDEN = [
    ("SGD", {"lr": 0.1, "momentum": 0.9},
     [0.7881073951721191, 1.794394850730896, 0.977906346321106, -1.8075323104858398, -3.417705774307251,
      -1.634257435798645]),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1, "maximize": True},
     [1.1022088527679443, -0.43319016695022583, -1.186179518699646, -0.6689735651016235, 0.09921498596668243,
      0.42535659670829773]),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-06, "weight_decay": 0.1},
     [1.3926112651824951, 0.5231865644454956, -0.7130442261695862, -1.431360125541687, -1.1095075607299805,
      0.04252408444881439]),
    ("Adam", {"lr": 0.02, "amsgrad": True, "maximize": True, "weight_decay": 0.05},
     [1.4641225337982178, 0.5724855661392212, -0.789364218711853, -1.5408196449279785, -1.0637835264205933,
      0.22841185331344604]),
    ("AdamW", {"lr": 0.03, "weight_decay": 0.2, "amsgrad": True, "maximize": True},
     [1.4196407794952393, 0.5606231689453125, -0.7751142382621765, -1.5005671977996826, -1.0049803256988525,
      0.2669331133365631]),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.7, "weight_decay": 0.05},
     [1.3593708276748657, 0.5100651383399963, -0.6291443109512329, -1.352501630783081, -1.1735883951187134,
      -0.1184697300195694]),
    ("RMSprop", {"lr": 0.005, "alpha": 0.4, "centered": True, "momentum": 0.5, "eps": 0.0001, "weight_decay": 0.1},
     [1.3953921794891357, 0.5488545894622803, -0.6952852606773376, -1.4512048959732056, -1.1362853050231934,
      0.043556127697229385]),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.3, "eps": 1e-06},
     [1.3338453769683838, 0.5456807017326355, -0.6467238068580627, -1.4127448797225952, -1.1623749732971191,
      -0.036240361630916595]),
]


@pytest.mark.parametrize("name,kw,expected", TORCH_GOLDEN, ids=[g[0] for g in TORCH_GOLDEN])
def test_matches_pytorch_golden_trajectories(name, kw, expected):
    p, _ = run(name, kw)
    np.testing.assert_allclose(p.detach().numpy(), np.float32(expected), rtol=0, atol=5e-7)


def test_backward_driven_training_matches_reference():
    """Gradients from autograd's backward (loss = sum(p^4)/4 - sum(c*p)) feed Adam correctly."""
    c = np.linspace(-1, 1, N)
    p = autograd.tensor(init().astype(np.float64)).requires_grad_()
    opt = optim.Adam([p], lr=0.05, amsgrad=True)
    ref = init().astype(np.float64)
    m = v = vmax = np.zeros(N)
    for t in range(1, 11):
        opt.zero_grad()
        loss = (p ** 4).sum() / 4 - (p * autograd.tensor(c)).sum()
        loss.backward()
        opt.step()
        g = ref ** 3 - c
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        vmax = np.maximum(vmax, v)
        ref = ref - 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(vmax / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-10, atol=1e-12)


def test_param_groups_with_own_options():
    a = autograd.tensor(init()).requires_grad_()
    b = autograd.tensor(init()[::-1].copy()).requires_grad_()
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["nesterov"] is False
    for t in range(STEPS):
        a.grad, b.grad = autograd.tensor(grad(t)), autograd.tensor(grad(t)[::-1].copy())
        opt.step()
    grads = [grad(t) for t in range(STEPS)]
    np.testing.assert_allclose(a.detach().numpy(), ref_sgd(init(), grads, 0.1, momentum=0.9), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(b.detach().numpy(), ref_sgd(init()[::-1], [g[::-1] for g in grads], 0.01,
                                                           momentum=0.5), rtol=2e-6, atol=2e-6)


def test_updates_in_place_and_bumps_version():
    p = autograd.tensor(init()).requires_grad_()
    arr, version = p._data, p._version[0]
    opt = optim.Adam([p])
    p.grad = autograd.tensor(grad(0))
    opt.step()
    assert p._data is arr and p._version[0] == version + 1


def test_params_without_grad_are_skipped():
    a, b = (autograd.tensor(init()).requires_grad_() for _ in range(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = autograd.tensor(grad(0))
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), init())
    assert len(opt.state) == 1 and a in opt.state


def test_zero_grad():
    p = autograd.tensor(init()).requires_grad_()
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not p.grad.numpy().any()
    opt.zero_grad()
    assert p.grad is None


def test_closure_returns_loss():
    p = autograd.tensor([3.0]).requires_grad_()
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with autograd.no_grad():
        loss = opt.step(closure)  # the closure runs with grad enabled
    assert loss.item() == 9.0 and p.item() == pytest.approx(1.5)


def test_named_parameters_and_add_param_group():
    a, b = autograd.tensor(init()).requires_grad_(), autograd.tensor(init()).requires_grad_()
    opt = optim.Adagrad([("a", a)], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2})  # Adagrad state for late groups is created lazily
    a.grad, b.grad = autograd.tensor(grad(0)), autograd.tensor(grad(0))
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"] == ["a"]
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    np.testing.assert_allclose(b.detach().numpy(), ref_adagrad(init(), [grad(0)], 0.2), rtol=2e-6)


def test_invalid_arguments():
    p = autograd.tensor(init()).requires_grad_()
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.Adam([{"params": {p}}])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        optim.SGD([p, p], lr=0.1)
    assert any("duplicate parameters" in str(x.message) for x in w)


# -- state dicts ----------------------------------------------------------------
def _two_group_opt(name, kw):
    a = autograd.tensor(init()).requires_grad_()
    b = autograd.tensor(init().reshape(2, 3)[::-1].copy()).requires_grad_()
    opt = getattr(optim, name)([{"params": [a]}, {"params": [b], "lr": kw["lr"] / 2}], **kw)
    return [a, b], opt


def _train(params, opt, steps, start):
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = autograd.tensor(grad(t + i).reshape(p.shape))
        opt.step()


@pytest.mark.parametrize("name,kw", [CASES[3], CASES[7], CASES[10], CASES[14], CASES[16]])
def test_state_dict_round_trip_continues_identically(name, kw):
    params, opt = _two_group_opt(name, kw)
    _train(params, opt, 3, 0)
    sd = copy.deepcopy(opt.state_dict())
    assert sorted(sd["state"]) == [0, 1] and [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    params2 = [autograd.tensor(p.detach().numpy().copy()).requires_grad_() for p in params]
    opt2 = getattr(optim, name)([{"params": [params2[0]]}, {"params": [params2[1]], "lr": 123.0}], **kw)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == kw["lr"] / 2 and opt2.param_groups[1]["params"][0] is params2[1]
    _train(params, opt, 4, 3)
    _train(params2, opt2, 4, 3)
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # loading copies: the source dict is not modified by further steps
    assert all(v is not sd["state"][0][k] for k, v in opt2.state[params2[0]].items())


def test_load_state_dict_errors():
    params, opt = _two_group_opt("Adam", dict(lr=0.1))
    _train(params, opt, 1, 0)
    sd = opt.state_dict()
    single = optim.Adam([autograd.tensor(init()).requires_grad_()], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        single.load_state_dict(sd)
    wrong_size = optim.Adam([{"params": [params[0], autograd.tensor([1.0]).requires_grad_()]},
                             {"params": [params[1]]}])
    with pytest.raises(ValueError, match="doesn't match the size"):
        wrong_size.load_state_dict(sd)
    other_shape = optim.Adam([{"params": [autograd.zeros(5).requires_grad_()]},
                              {"params": [autograd.zeros(2, 3).requires_grad_()]}])
    with pytest.raises(ValueError, match="exp_avg"):
        other_shape.load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        single.load_state_dict({"state": {}})


def test_load_state_dict_casts_to_param_dtype_and_keeps_step_float32():
    p = autograd.tensor(init()).requires_grad_()
    opt = optim.Adam([p], lr=0.1)
    _train([p], opt, 2, 0)
    sd = opt.state_dict()
    q = autograd.tensor(init().astype(np.float64)).requires_grad_()
    opt2 = optim.Adam([q], lr=0.1)
    opt2.load_state_dict(sd)
    st = opt2.state[q]
    assert st["exp_avg"].dtype == np.float64 and st["step"].dtype == np.float32 and st["step"].item() == 2.0


def test_repr_lists_groups():
    opt = optim.SGD([autograd.tensor(init()).requires_grad_()], lr=0.5)
    assert "Parameter Group 0" in repr(opt) and "lr: 0.5" in repr(opt)


def test_adam_step_is_fast_for_unet_sized_params():
    """A step over ~2M float32 weights must stay cheap (no float64 temporaries, no allocations)."""
    import time
    shapes = [(64, 64, 3, 3)] * 40 + [(64,)] * 40
    params = [autograd.zeros(*s).requires_grad_() for s in shapes]
    for p in params:
        p.grad = autograd.ones(*p.shape)
    opt = optim.Adam(params, lr=1e-3)
    opt.step()
    t0 = time.perf_counter()
    for _ in range(3):
        opt.step()
    per_step = (time.perf_counter() - t0) / 3
    n = sum(math.prod(s) for s in shapes)
    assert n > 1.4e6 and per_step < 0.5, per_step
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values())
