"""nn.init: gains and fans exactly as PyTorch's; every initialiser checked statistically on large tensors
(mean / std / bounds, with tolerances of several standard errors), orthogonal_ gives QᵀQ = I,
trunc_normal_ stays in [a, b]; reproducible under manual_seed and with a Generator; clear errors."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init
from oracle import needs_torch, torch

@pytest.fixture(autouse=True)
def _seeded():
    cr.manual_seed(2024)        # the statistical checks are far from their limits; a seed makes them repeatable


SHAPES = [(30, 20), (20, 30), (8, 4, 5), (16, 8, 3, 3), (4, 2, 3, 3, 3)]


@needs_torch
@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(cr.empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert ours == theirs


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(5))
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(cr.empty(5))


@needs_torch
@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                      ("leaky_relu", 0), ("leaky_relu", 3), ("selu", None),
                                      ("conv_transpose3d", None)])
def test_calculate_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def _stats(t):
    a = t.detach().numpy().astype(np.float64).ravel()
    return a, a.mean(), a.std()


def _check_uniform(t, lo, hi):
    a, mean, std = _stats(t)
    n = a.size
    width = hi - lo
    assert a.min() >= lo and a.max() <= hi
    assert a.min() < lo + width * 0.01 and a.max() > hi - width * 0.01      # the bounds are reached
    assert abs(mean - (lo + hi) / 2) < 6 * width / math.sqrt(12 * n)
    assert abs(std - width / math.sqrt(12)) < 0.02 * width / math.sqrt(12)


def _check_normal(t, mean, std):
    a, m, s = _stats(t)
    n = a.size
    assert abs(m - mean) < 6 * std / math.sqrt(n)
    assert abs(s - std) < 0.02 * std
    frac = np.mean(np.abs(a - mean) < std)                  # ~68.27% within one std: really Gaussian
    assert abs(frac - 0.6827) < 0.01


N_BIG = (400, 500)


def test_uniform_normal_constant():
    t = cr.empty(*N_BIG)
    assert init.uniform_(t, -2.0, 3.0) is t
    _check_uniform(t, -2.0, 3.0)
    _check_uniform(init.uniform_(cr.empty(*N_BIG)), 0.0, 1.0)
    _check_normal(init.normal_(cr.empty(*N_BIG), 1.5, 0.3), 1.5, 0.3)
    _check_normal(init.normal_(cr.empty(*N_BIG, dtype=cr.float64)), 0.0, 1.0)
    assert np.all(init.constant_(cr.empty(3, 4), 0.7).numpy() == np.float32(0.7))
    assert np.all(init.zeros_(cr.ones(3, 4)).numpy() == 0)
    assert np.all(init.ones_(cr.zeros(3, 4)).numpy() == 1)


def test_eye_and_dirac():
    np.testing.assert_array_equal(init.eye_(cr.empty(3, 5)).numpy(), np.eye(3, 5))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(cr.empty(2, 2, 2))
    w = init.dirac_(cr.empty(4, 2, 3, 3), groups=2)
    if torch is not None:
        np.testing.assert_array_equal(w.numpy(), torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).numpy())
    with pytest.raises(ValueError, match="divisible"):
        init.dirac_(cr.empty(3, 2, 3), groups=2)


@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
def test_xavier(gain):
    shape = (500, 300)
    a = gain * math.sqrt(6.0 / (300 + 500))           # Glorot: Var = gain² · 2 / (fan_in + fan_out)
    _check_uniform(init.xavier_uniform_(cr.empty(*shape), gain=gain), -a, a)
    _check_normal(init.xavier_normal_(cr.empty(*shape), gain=gain), 0.0, gain * math.sqrt(2.0 / 800))


def test_xavier_on_conv_shape_uses_receptive_field():
    w = init.xavier_normal_(cr.empty(64, 32, 5, 5))     # fan_in = 32·25, fan_out = 64·25
    _check_normal(w, 0.0, math.sqrt(2.0 / (32 * 25 + 64 * 25)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nl,a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", 0.1), ("tanh", 0),
                                  ("leaky_relu", math.sqrt(5))])
def test_kaiming(mode, nl, a):
    shape = (300, 200, 2)                                # fan_in 400, fan_out 600
    fan = 400 if mode == "fan_in" else 600
    std = init.calculate_gain(nl, a) / math.sqrt(fan)
    _check_uniform(init.kaiming_uniform_(cr.empty(*shape), a=a, mode=mode, nonlinearity=nl),
                   -math.sqrt(3) * std, math.sqrt(3) * std)
    _check_normal(init.kaiming_normal_(cr.empty(*shape), a=a, mode=mode, nonlinearity=nl), 0.0, std)


def test_kaiming_errors_and_empty():
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_normal_(cr.empty(3, 3), mode="fan_avg")
    e = cr.empty(0, 3)
    assert init.kaiming_uniform_(e) is e and init.orthogonal_(e) is e


@pytest.mark.parametrize("shape", [(64, 64), (40, 100), (100, 40), (16, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=2.0).numpy()
    q = w.reshape(shape[0], -1)
    rows, cols = q.shape
    if rows <= cols:      # orthonormal rows
        np.testing.assert_allclose(q @ q.T, 4.0 * np.eye(rows), atol=1e-10)
    else:                 # orthonormal columns
        np.testing.assert_allclose(q.T @ q, 4.0 * np.eye(cols), atol=1e-10)
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(cr.empty(5))


def test_orthogonal_is_random_not_fixed():
    a = init.orthogonal_(cr.empty(10, 10)).numpy().copy()
    b = init.orthogonal_(cr.empty(10, 10)).numpy()
    assert not np.allclose(a, b)
    # distributed as Haar: entries of a random orthogonal n x n matrix have mean 0, variance 1/n
    w = np.stack([init.orthogonal_(cr.empty(20, 20, dtype=cr.float64)).numpy() for _ in range(200)])
    assert abs(w.mean()) < 6 / math.sqrt(w.size * 20) and abs(w.var() - 1 / 20) < 0.005


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 5.0),
                                          (0.0, 1.0, 1.5, 3.0)])
def test_trunc_normal(mean, std, a, b):
    t = init.trunc_normal_(cr.empty(*N_BIG, dtype=cr.float64), mean, std, a, b)
    x = t.numpy().ravel()
    assert x.min() >= a and x.max() <= b
    # moments of the truncated normal, from the standard formulas
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)   # noqa: E731
    Phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))          # noqa: E731
    Z = Phi(be) - Phi(al)
    m = mean + std * (phi(al) - phi(be)) / Z
    var = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    assert abs(x.mean() - m) < 6 * math.sqrt(var / x.size)
    assert abs(x.std() - math.sqrt(var)) < 0.02 * math.sqrt(var)


def test_trunc_normal_empty_interval():
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(cr.empty(3), a=1.0, b=-1.0)


def test_sparse():
    w = init.sparse_(cr.empty(100, 50, dtype=cr.float64), sparsity=0.3, std=0.5).numpy()
    assert np.all((w == 0).sum(0) == 30)                 # exactly ceil(0.3·100) zeros in every column
    nz = w[w != 0]
    assert abs(nz.std() - 0.5) < 0.05


def test_reproducible_with_manual_seed_and_generator():
    cr.manual_seed(5)
    a = init.kaiming_uniform_(cr.empty(20, 10)).numpy().copy()
    cr.manual_seed(5)
    b = init.kaiming_uniform_(cr.empty(20, 10)).numpy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = cr.Generator().manual_seed(3), cr.Generator().manual_seed(3)
    np.testing.assert_array_equal(init.normal_(cr.empty(7), generator=g1).numpy(),
                                  init.normal_(cr.empty(7), generator=g2).numpy())


def test_init_on_parameters_keeps_them_leaves_and_dtype():
    lin = nn.Linear(50, 40)
    w = lin.weight
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_, init.trunc_normal_, init.zeros_):
        assert fn(lin.weight) is w
        assert w.grad_fn is None and w.requires_grad and w.dtype == cr.float32
    lin(cr.randn(2, 50)).sum().backward()                 # still trains after init
    assert w.grad is not None


def test_init_bumps_version_so_stale_graphs_fail():
    lin = nn.Linear(3, 3)
    x = cr.randn(2, 3, requires_grad=True)
    y = lin(x).sum()                          # dL/dx needs the weight as it was
    init.normal_(lin.weight)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
