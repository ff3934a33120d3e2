"""Adadelta and LBFGS against PyTorch: the same parameters after the same steps (float64)."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

pytestmark = needs_torch


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((20, 3)), rng.standard_normal(20), rng.standard_normal(3)


@pytest.mark.parametrize("kw", [{}, dict(lr=0.5, rho=0.8, weight_decay=0.1), dict(maximize=True, eps=1e-4)])
def test_adadelta_matches_torch(kw):
    X, y, w0 = _problem()
    w, wt = cr.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    opt, opt_t = cr.optim.Adadelta([w], **kw), torch.optim.Adadelta([wt], **kw)
    for _ in range(15):
        for o, p, lib in ((opt, w, cr), (opt_t, wt, torch)):
            o.zero_grad()
            ((lib.tensor(X) @ p - lib.tensor(y)) ** 2).mean().backward()
            o.step()
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(opt.state[w]["acc_delta"].numpy(), opt_t.state[wt]["acc_delta"].numpy(), rtol=1e-12)


def _rosenbrock(lib, p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_trajectory_equals_torch(line_search):
    """Rosenbrock from (-1.5, 2): every outer step's iterate and loss, and the closure call count."""
    p = cr.tensor([-1.5, 2.0], dtype=cr.float64, requires_grad=True)
    pt = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    kw = dict(lr=1 if line_search else 0.01, max_iter=10, history_size=5, line_search_fn=line_search)
    opt, opt_t = cr.optim.LBFGS([p], **kw), torch.optim.LBFGS([pt], **kw)
    calls = {"cr": 0, "torch": 0}

    def closure_for(o, q, lib, key):
        def closure():
            calls[key] += 1
            o.zero_grad()
            loss = _rosenbrock(lib, q)
            loss.backward()
            return loss
        return closure

    for _ in range(6):
        loss = opt.step(closure_for(opt, p, cr, "cr"))
        loss_t = opt_t.step(closure_for(opt_t, pt, torch, "torch"))
        np.testing.assert_allclose(p.detach().numpy(), pt.detach().numpy(), rtol=1e-9, atol=1e-12)
        assert loss.item() == pytest.approx(loss_t.item(), rel=1e-6, abs=1e-12)   # near the minimum: roundoff
    assert calls["cr"] == calls["torch"]
    assert opt.state[p]["func_evals"] == opt_t.state[pt]["func_evals"]
    assert opt.state[p]["n_iter"] == opt_t.state[pt]["n_iter"]
    if line_search:
        assert _rosenbrock(cr, p).item() < 1e-6             # it converged, as PyTorch's did


def test_lbfgs_needs_a_closure_and_one_group():
    p = cr.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="needs a closure"):
        cr.optim.LBFGS([p]).step()
    with pytest.raises(ValueError, match="line_search_fn"):
        cr.optim.LBFGS([p], line_search_fn="armijo")
