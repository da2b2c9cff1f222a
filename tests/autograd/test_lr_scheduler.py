"""Learning-rate schedulers: PyTorch's lr sequences, closed forms and state dicts."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest

import autograd
from autograd import optim
from autograd.optim import lr_scheduler as L


def make_opt(kind="SGD", lrs=(0.1,)):
    groups = [{"params": [autograd.zeros(1).requires_grad_()], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return optim.SGD(groups, lr=lrs[0], momentum=0.9)
    return optim.Adam(groups, lr=lrs[0])


def run(make, steps, opt="SGD", lrs=(0.1,), metrics=None, mom=False):
    o = make_opt(opt, lrs)
    s = make(o)
    seq, moms = [list(s.get_last_lr())], []
    for t in range(steps):
        o.step()
        s.step() if metrics is None else s.step(metrics[t])
        seq.append(list(s.get_last_lr()) if metrics is None else [g["lr"] for g in o.param_groups])
        if mom:
            moms.append([g["momentum"] if opt == "SGD" else g["betas"][0] for g in o.param_groups])
    return seq, moms


CASES = {
    "StepLR": (lambda o: L.StepLR(o, step_size=3, gamma=0.5), 10, {}),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.3), 10, {}),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, gamma=0.9), 10, {}),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=4, eta_min=0.01), 14, {}),
    "LinearLR": (lambda o: L.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=4), 7, {}),
    "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.5, total_iters=3), 6, {}),
    "LambdaLR": (lambda o: L.LambdaLR(o, lambda e: 1.0 / (1 + e)), 5, {"lrs": (0.1, 0.5)}),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, total_iters=5, power=2.0), 7, {}),
    "MultiplicativeLR": (lambda o: L.MultiplicativeLR(o, lambda e: 0.95), 5, {}),
    "CosineAnnealingWarmRestarts": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
                                    12, {}),
    "SequentialLR": (lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=3),
                                                  L.ExponentialLR(o, gamma=0.8)], milestones=[3]), 8, {}),
    "OneCycleLR_cos": (lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10), 9, {"mom": True}),
    "OneCycleLR_linear3_adam": (
        lambda o: L.OneCycleLR(o, max_lr=[0.5, 2.0], total_steps=12, pct_start=0.25, anneal_strategy="linear",
                               three_phase=True, div_factor=10.0, final_div_factor=100.0),
        11, {"opt": "Adam", "lrs": (0.1, 0.1), "mom": True}),
    "ReduceLROnPlateau_min": (
        lambda o: L.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1, min_lr=0.02), 12,
        {"metrics": [1.0, 0.9, 0.9, 0.95, 0.9, 0.91, 0.92, 0.5, 0.6, 0.7, 0.8, 0.9]}),
    "ReduceLROnPlateau_max_abs": (
        lambda o: L.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=0, threshold=0.05, threshold_mode="abs"),
        6, {"metrics": [1.0, 1.04, 1.06, 1.2, 1.2, 1.3]}),
}

# Produced with PyTorch 2.13.0 by running the same CASES through torch.optim.lr_scheduler
# (SGD(momentum=0.9) or Adam, one zero parameter per group, optimizer.step() then
# scheduler.step(); lists are get_last_lr() from construction on, then the momentum/beta1
# set after each step).
TORCH_GOLDEN = {
    "StepLR": ([[0.1], [0.1], [0.1], [0.05], [0.05], [0.05], [0.025], [0.025], [0.025], [0.0125], [0.0125]], []),
    "MultiStepLR": ([[0.1], [0.1], [0.03], [0.03], [0.03], [0.0026999999999999997], [0.0026999999999999997],
                     [0.0026999999999999997], [0.0008099999999999998], [0.0008099999999999998],
                     [0.0008099999999999998]], []),
    "ExponentialLR": ([[0.1], [0.09000000000000001], [0.08100000000000002], [0.07290000000000002],
                       [0.06561000000000002], [0.05904900000000002], [0.05314410000000002], [0.04782969000000002],
                       [0.043046721000000024], [0.03874204890000002], [0.03486784401000002]], []),
    "CosineAnnealingLR": ([[0.1], [0.08681980515339464], [0.05500000000000001], [0.023180194846605363], [0.01],
                           [0.023180194846605363], [0.05500000000000002], [0.08681980515339469],
                           [0.10000000000000006], [0.0868198051533947], [0.05500000000000005],
                           [0.023180194846605412], [0.01], [0.023180194846605363], [0.054999999999999924]], []),
    "LinearLR": ([[0.025], [0.04125], [0.05750000000000001], [0.07375000000000001], [0.09000000000000002],
                  [0.09000000000000002], [0.09000000000000002], [0.09000000000000002]], []),
    "ConstantLR": ([[0.05], [0.05], [0.05], [0.1], [0.1], [0.1], [0.1]], []),
    "LambdaLR": ([[0.1, 0.5], [0.05, 0.25], [0.03333333333333333, 0.16666666666666666], [0.025, 0.125],
                  [0.020000000000000004, 0.1], [0.016666666666666666, 0.08333333333333333]], []),
    "PolynomialLR": ([[0.1], [0.06400000000000002], [0.036000000000000004], [0.016000000000000004],
                      [0.003999999999999999], [0.0], [0.0], [0.0]], []),
    "MultiplicativeLR": ([[0.1], [0.095], [0.09025], [0.0857375], [0.08145062499999998], [0.07737809374999999]], []),
    "CosineAnnealingWarmRestarts": ([[0.1], [0.07525000000000001], [0.025750000000000012], [0.1],
                                     [0.09336825748732973], [0.07525000000000001], [0.0505], [0.025750000000000012],
                                     [0.007631742512670284], [0.1], [0.09831332840130888], [0.09336825748732973],
                                     [0.0855017856687341]], []),
    "SequentialLR": ([[0.010000000000000002], [0.04], [0.07], [0.1], [0.08000000000000002], [0.06400000000000002],
                      [0.051200000000000016], [0.04096000000000002], [0.03276800000000001]], []),
    "OneCycleLR_cos": ([[0.040000000000000036], [0.52], [1.0], [0.9504846320134737], [0.8117456539497631],
                        [0.6112620219362893], [0.38874197806371075], [0.18825834605023697], [0.049519367986526286],
                        [4e-06]],
                       [[0.8999999999999999], [0.85], [0.854951556604879], [0.8688255099070633],
                        [0.8888739533021842], [0.9111260466978157], [0.9311744900929366], [0.945048443395121],
                        [0.95]]),
    "OneCycleLR_linear3_adam": ([[0.05, 0.2], [0.275, 1.1], [0.5, 2.0], [0.275, 1.1],
                                 [0.04999999999999999, 0.19999999999999996],
                                 [0.042928571428571434, 0.17171428571428574],
                                 [0.03585714285714286, 0.14342857142857143],
                                 [0.02878571428571429, 0.11514285714285716],
                                 [0.021714285714285717, 0.08685714285714287],
                                 [0.014642857142857145, 0.05857142857142858],
                                 [0.007571428571428576, 0.030285714285714305],
                                 [0.0005000000000000004, 0.0020000000000000018]],
                                [[0.8999999999999999] * 2, [0.85] * 2, [0.8999999999999999] * 2] + [[0.95] * 2] * 8),
    "ReduceLROnPlateau_min": ([[0.1], [0.1], [0.1], [0.1], [0.05], [0.05], [0.05], [0.025], [0.025], [0.025],
                               [0.02], [0.02], [0.02]], []),
    "ReduceLROnPlateau_max_abs": ([[0.1], [0.1], [0.010000000000000002], [0.010000000000000002],
                                   [0.010000000000000002], [0.0010000000000000002], [0.0010000000000000002]], []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_pytorch(name):
    make, steps, kw = CASES[name]
    seq, moms = run(make, steps, **kw)
    want_seq, want_moms = TORCH_GOLDEN[name]
    np.testing.assert_allclose(np.array(seq), np.array(want_seq), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.array(moms), np.array(want_moms), rtol=1e-13)


def test_closed_forms_with_epoch_argument():
    cases = [
        (lambda o: L.StepLR(o, 3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
        (lambda o: L.MultiStepLR(o, [2, 5], gamma=0.3), lambda e: 0.1 * 0.3 ** ((e >= 2) + (e >= 5))),
        (lambda o: L.ExponentialLR(o, 0.9), lambda e: 0.1 * 0.9 ** e),
        (lambda o: L.CosineAnnealingLR(o, 6, eta_min=0.01),
         lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 6)) / 2),
        (lambda o: L.LinearLR(o, 0.5, 1.0, total_iters=4), lambda e: 0.1 * (0.5 + 0.5 * min(e, 4) / 4)),
        (lambda o: L.ConstantLR(o, 0.5, total_iters=3), lambda e: 0.1 * (0.5 if e < 3 else 1.0)),
    ]
    for make, closed in cases:
        s = make(make_opt())
        for epoch in (7, 2, 0, 4, 11):
            with pytest.warns(UserWarning, match="epoch parameter"):
                s.step(epoch)
            assert s.get_last_lr()[0] == pytest.approx(closed(epoch), rel=1e-12), (type(s).__name__, epoch)


def test_cosine_recursive_form_tracks_closed_form():
    opt = make_opt()
    s = L.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for e in range(1, 31):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.001 + 0.099 * (1 + math.cos(math.pi * e / 10)) / 2, abs=1e-12)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "SequentialLR", "OneCycleLR_cos",
                                  "ReduceLROnPlateau_min", "LambdaLR", "CosineAnnealingWarmRestarts"])
def test_state_dict_round_trip_through_save(name):
    make, steps, kw = CASES[name]
    kw = dict(kw)
    metrics = kw.pop("metrics", None)
    kw.pop("mom", None)

    def step(s, o, t):
        o.step()
        s.step() if metrics is None else s.step(metrics[t])

    o1 = make_opt(kw.get("opt", "SGD"), kw.get("lrs", (0.1,)))
    s1 = make(o1)
    half = steps // 2
    for t in range(half):
        step(s1, o1, t)
    buf = io.BytesIO()
    autograd.save({"opt": o1.state_dict(), "sched": s1.state_dict()}, buf)
    buf.seek(0)
    ckpt = autograd.load(buf)
    o2 = make_opt(kw.get("opt", "SGD"), kw.get("lrs", (0.1,)))
    s2 = make(o2)
    o2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    for t in range(half, steps):
        step(s1, o1, t)
        step(s2, o2, t)
        assert s2.get_last_lr() == s1.get_last_lr()
        assert [g["lr"] for g in o2.param_groups] == [g["lr"] for g in o1.param_groups]


def test_resume_with_last_epoch():
    opt = make_opt()
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(opt, 2, last_epoch=3)
    s = L.StepLR(opt, 2, gamma=0.5)
    for _ in range(4):
        opt.step()
        s.step()
    s2 = L.StepLR(opt, 2, gamma=0.5, last_epoch=s.last_epoch)  # initial_lr is now in the groups
    assert s2.base_lrs == [0.1]


def test_invalid_arguments():
    opt = make_opt()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        L.ReduceLROnPlateau(opt, mode="best")
    with pytest.raises(ValueError, match="total_steps"):
        L.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="pct_start"):
        L.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=2.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        L.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="step")
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        L.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        L.LambdaLR(opt, [lambda e: 1, lambda e: 1])
    with pytest.raises(ValueError, match="number of milestone"):
        L.SequentialLR(opt, [L.ConstantLR(opt), L.ConstantLR(opt)], milestones=[1, 2])
    no_momentum = optim.Adagrad([autograd.zeros(1).requires_grad_()])
    with pytest.raises(ValueError, match="momentum or beta1"):
        L.OneCycleLR(no_momentum, max_lr=1.0, total_steps=5)


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = make_opt()
    s = L.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(2):
        opt.step()
        s.step()
    opt.step()
    s.step()  # the last_epoch == total_steps step is allowed, as in PyTorch
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()


def test_plateau_tensor_metric_and_min_lr_per_group():
    opt = make_opt(lrs=(0.1, 0.2))
    s = L.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=[0.06, 0.0])
    for _ in range(3):
        s.step(autograd.tensor(1.0))
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.06, 0.05])
