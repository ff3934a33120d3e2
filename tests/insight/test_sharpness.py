"""sharpness: Lanczos λ_max against the closed form and against a dense Hessian; Hutchinson trace."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import sharpness
from chainrule.insight.sharpness import curvature


def test_linear_regression_closed_form():
    x = cr.tensor(np.arange(1.0, 11.0))
    y = 2 * x
    w1 = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    w2 = cr.tensor(0.0, dtype=cr.float64, requires_grad=True)
    s = curvature(lambda: 0.5 * ((y - (w1 * x + w2)) ** 2).sum(), [w1, w2], samples=64)
    H = np.array([[np.sum(x.numpy() ** 2), np.sum(x.numpy())], [np.sum(x.numpy()), 10.0]])
    lam = np.linalg.eigvalsh(H)
    assert s.lambda_max == pytest.approx(lam[-1], rel=1e-10)
    assert s.lambda_min == pytest.approx(lam[0], rel=1e-8)
    assert s.lr_bound == pytest.approx(2 / lam[-1])
    assert abs(s.trace - np.trace(H)) < 5 * s.trace_std            # Hutchinson: unbiased, its own error bar
    assert "local quadratic bound" in str(s)


def _dense_hessian_fd(model, loss_fn, eps=1e-5):
    """Central differences of the (first-order) gradient: independent of double backward."""
    params = list(model.parameters())

    def flat_grad():
        for p in params:
            p.grad = None
        loss_fn().backward()
        return np.concatenate([p.grad.numpy().reshape(-1) for p in params])

    flat = [(p, i) for p in params for i in range(p.numel())]
    H = np.zeros((len(flat), len(flat)))
    for k, (p, i) in enumerate(flat):
        arr = p._data.reshape(-1)
        old = arr[i]
        arr[i] = old + eps
        up = flat_grad()
        arr[i] = old - eps
        down = flat_grad()
        arr[i] = old
        H[:, k] = (up - down) / (2 * eps)
    for p in params:
        p.grad = None
    return (H + H.T) / 2


def test_small_mlp_against_dense_eigendecomposition():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = cr.randn(8, 3, dtype=cr.float64)
    y = cr.randint(0, 2, (8,))
    loss_fn = nn.CrossEntropyLoss()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    s = sharpness(model, loss_fn, (x, y), iters=26, samples=200)
    H = _dense_hessian_fd(model, lambda: loss_fn(model(x), y))
    eig = np.linalg.eigvalsh(H)
    assert eig[0] < 0 < eig[-1]                                    # an indefinite Hessian: a real test
    assert s.lambda_max == pytest.approx(eig[-1], rel=1e-5, abs=1e-7)
    assert s.lambda_min == pytest.approx(eig[0], rel=1e-5, abs=1e-7)
    assert abs(s.trace - np.trace(H)) < 5 * s.trace_std
    assert all(np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())
    few = sharpness(model, loss_fn, (x, y), iters=12)              # Lanczos converges at the ends first
    assert few.lambda_max == pytest.approx(eig[-1], rel=1e-3)


def test_largest_algebraic_not_largest_magnitude():
    a = cr.tensor([0.3, 0.2], dtype=cr.float64, requires_grad=True)
    s = curvature(lambda: 0.5 * (a[0] ** 2 - 3 * a[1] ** 2), [a])  # eigenvalues 1 and −3
    assert s.lambda_max == pytest.approx(1.0) and s.lambda_min == pytest.approx(-3.0)
    assert s.lr_bound == pytest.approx(2.0)


def test_momentum_bound_and_concave():
    a = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    s = curvature(lambda: 2 * (a ** 2).sum(), [a], momentum=0.9)  # λ = 4
    assert s.lr_bound == pytest.approx(2 * 1.9 / 4)
    c = curvature(lambda: -(a ** 2).sum(), [a])
    assert c.lr_bound == float("inf") and "no curvature limit" in str(c)


def test_bad_arguments():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="momentum"):
        curvature(lambda: (a ** 2).sum(), [a], momentum=1.0)
    with pytest.raises(ValueError, match="must be a scalar"):
        curvature(lambda: a ** 2, [a])
    with pytest.raises(TypeError, match="pair"):
        sharpness(nn.Linear(1, 1), nn.MSELoss(), cr.ones(1))
