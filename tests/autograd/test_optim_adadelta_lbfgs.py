"""Adadelta and LBFGS: values computed with PyTorch 2.13 (hard-coded) and live comparisons."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as torch

X = [[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7], [2.0, 1.0]]
Y = [1.0, 0.0, 0.0, 1.0]


def _logreg(lib, make_opt, steps):
    """Logistic regression on 4 points; returns (losses per step, final [w0, w1, b])."""
    x, y = lib.tensor(X, dtype=lib.float64), lib.tensor(Y, dtype=lib.float64)
    w = lib.tensor([0.1, -0.2], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([0.0], dtype=lib.float64, requires_grad=True)
    opt = make_opt(lib, [w, b])

    def closure():
        opt.zero_grad()
        loss = lib.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return losses, w.detach().tolist() + b.detach().tolist()


CASES = {
    "adadelta": (lambda lib, p: lib.optim.Adadelta(p, lr=1.0), 3,
                 [0.7318491583201718, 0.7288975413794009, 0.725899506526705],
                 [0.1096816196385663, -0.1903193496348023, 0.009101028404438844]),
    "adadelta_wd": (lambda lib, p: lib.optim.Adadelta(p, lr=0.5, rho=0.8, weight_decay=0.1), 3,
                    [0.7318491583201718, 0.7308031736067188, 0.7297046660525462],
                    [0.1035140426744739, -0.19648584910856817, 0.0034280518801697345]),
    "lbfgs": (lambda lib, p: lib.optim.LBFGS(p, max_iter=4), 2,
              [0.7318491583201718, 0.04279896873522333],
              [3.6107265560841952, 3.5530350817168452, -3.940801960540631]),
    "lbfgs_wolfe": (lambda lib, p: lib.optim.LBFGS(p, max_iter=4, line_search_fn="strong_wolfe", history_size=2),
                    2, [0.7318491583201718, 0.042760849649164503],
                    [3.621779979526955, 3.561180161624929, -3.9394856403316147]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_values(name):
    make, steps, losses, params = CASES[name]
    got_losses, got_params = _logreg(torch, make, steps)
    np.testing.assert_allclose(got_losses, losses, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_params, params, rtol=1e-10, atol=1e-10)


def _mlp(lib, make_opt, steps, dtype="float64"):
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    w0, w1 = rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 1)) * 0.5
    dt = getattr(lib, dtype)
    x, y = lib.tensor(xs, dtype=dt), lib.tensor(ys, dtype=dt)
    ps = [lib.tensor(w0, dtype=dt, requires_grad=True), lib.tensor(w1, dtype=dt, requires_grad=True)]
    opt = make_opt(lib, ps)

    def closure():
        opt.zero_grad()
        loss = ((lib.tanh(x @ ps[0]) @ ps[1] - y) ** 2).mean()
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return np.array(losses), np.concatenate([p.detach().numpy().ravel() for p in ps])


@pytest.mark.parametrize("kw", [dict(max_iter=10), dict(max_iter=10, line_search_fn="strong_wolfe"),
                                dict(lr=0.1, history_size=3, max_iter=7)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lbfgs_trajectory_matches_pytorch(kw, dtype):
    pt = pytest.importorskip("torch")
    make = lambda lib, p: lib.optim.LBFGS(p, **kw)  # noqa: E731
    (l_ref, p_ref), (l_got, p_got) = _mlp(pt, make, 1, dtype), _mlp(torch, make, 1, dtype)
    tol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(l_got, l_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(p_got, p_ref, rtol=tol, atol=tol)


def test_adadelta_trajectory_matches_pytorch():
    pt = pytest.importorskip("torch")
    make = lambda lib, p: lib.optim.Adadelta(p, lr=0.7, rho=0.85, eps=1e-5, weight_decay=0.01, maximize=False)  # noqa: E731
    (l_ref, p_ref), (l_got, p_got) = _mlp(pt, make, 8), _mlp(torch, make, 8)
    np.testing.assert_allclose(l_got, l_ref, rtol=1e-12)
    np.testing.assert_allclose(p_got, p_ref, rtol=1e-12, atol=1e-14)


def test_adadelta_state_dict_round_trip(tmp_path):
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    opt = torch.optim.Adadelta([w])
    (w ** 2).sum().backward()
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    w2 = torch.tensor([1.0, -1.0], requires_grad=True)
    opt2 = torch.optim.Adadelta([w2])
    opt2.load_state_dict(torch.load(tmp_path / "opt.pt"))
    assert set(opt2.state[w2]) == {"step", "square_avg", "acc_delta"}
    np.testing.assert_array_equal(opt2.state[w2]["acc_delta"].numpy(), opt.state[w]["acc_delta"].numpy())


def test_optimizer_argument_errors():
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="rho"):
        torch.optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match="strong_wolfe"):
        torch.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        torch.optim.LBFGS([{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        torch.optim.LBFGS([w]).step(None)


def test_lbfgs_stops_at_optimum_and_keeps_state():
    w = torch.tensor([3.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 1.0], atol=1e-8)
    evals = opt.state[w]["func_evals"]
    opt.step(closure)  # gradient is ~0: one evaluation, no move
    assert opt.state[w]["func_evals"] == evals + 1


def test_lbfgs_state_dict_round_trip_continues_the_same_trajectory(tmp_path):
    def make():
        w = torch.tensor([3.0, -2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w], max_iter=3, history_size=4)

        def closure():
            opt.zero_grad()
            loss = ((w - 1) ** 2).sum() + (w ** 4).sum()
            loss.backward()
            return loss

        return w, opt, closure

    w, opt, closure = make()
    opt.step(closure)
    torch.save(opt.state_dict(), tmp_path / "lbfgs.pt")
    w2, opt2, closure2 = make()
    opt2.load_state_dict(torch.load(tmp_path / "lbfgs.pt"))
    with torch.no_grad():
        w2.copy_(w)
    opt.step(closure)
    opt2.step(closure2)
    assert w2.tolist() == w.tolist()
