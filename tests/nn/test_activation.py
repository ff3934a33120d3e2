"""Activation modules vs PyTorch: values and input gradients (float64, including the kinks at exactly 0,
the clamp boundaries and large |x|), constructor arguments, train/eval, reprs; gradcheck of each."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from oracle import check_gradcheck, check_torch, needs_torch, torch

if torch is not None:
    import torch.nn as tnn

# (constructor args, kwargs) per module: defaults and non-default arguments
CASES = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}),
    ("ReLU6", (), {}), ("ReLU6", (), {"inplace": True}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2,), {}), ("LeakyReLU", (), {"negative_slope": 1.5, "inplace": True}),
    ("ELU", (), {}), ("ELU", (0.5,), {}), ("ELU", (), {"alpha": 2, "inplace": True}),
    ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}), ("SiLU", (), {"inplace": True}),
    ("Softplus", (), {}), ("Softplus", (2.0, 5.0), {}), ("Softplus", (), {"beta": 0.5}),
    ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Softmax", (), {"dim": 1}), ("Softmax", (-1,), {}), ("Softmax", (0,), {}),
    ("LogSoftmax", (), {"dim": 1}), ("LogSoftmax", (-1,), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2, 2), {}), ("Hardtanh", (-0.5, 3.0), {"inplace": True}),
]


def _input(shape=(4, 7)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3
    flat = x.reshape(-1)
    special = [0.0, 1.0, -1.0, 6.0, 2.0, -2.0, -0.5, 3.0, 25.0, -25.0, 1e-9, -40.0]   # kinks, clamps, tails
    n = min(len(special), flat.size)
    flat[:n] = special[:n]
    return x


def _ids(case):
    name, args, kw = case
    return name + "".join(f"-{a}" for a in args) + "".join(f"-{k}={v}" for k, v in kw.items())


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 5)])
def test_module_matches_torch(case, shape):
    name, args, kw = case
    cm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    x = _input(shape)
    # inplace modules overwrite their input (a leaf that requires grad is refused): hand both a non-leaf copy
    check_torch(lambda a: cm(a * 1.0), lambda a: tm(a * 1.0), [x])
    cm.eval()
    tm.eval()
    check_torch(lambda a: cm(a * 1.0), lambda a: tm(a * 1.0), [x])
    assert repr(cm) == repr(tm)


@needs_torch
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 2, 3, 2)])
def test_softmax_implicit_dim_matches_torch(name, shape):
    x = _input(shape)
    with pytest.warns(UserWarning):          # torch warns about the implicit dim; chainrule follows its choice
        check_torch(lambda a: getattr(nn, name)()(a), lambda a: getattr(tnn, name)()(a), [x])
    assert repr(getattr(nn, name)()) == repr(getattr(tnn, name)())


@needs_torch
def test_inplace_flag_gives_torch_values_and_keeps_grad_flow():
    x = cr.tensor(_input(), requires_grad=True)
    h = x * 2
    y = nn.ReLU(inplace=True)(h)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * (_input() > 0))


@pytest.mark.parametrize("case", [c for c in CASES if "inplace" not in c[2]], ids=lambda c: _ids(c))
def test_gradcheck(case):
    name, args, kw = case
    m = getattr(nn, name)(*args, **kw)
    x = np.random.default_rng(1).standard_normal((3, 4)) + 0.05     # away from the kinks for finite differences
    check_gradcheck(lambda a: m(a), [x])


def test_float32_in_float32_out():
    x = cr.randn(3, 4)
    for name, args, kw in CASES:
        assert getattr(nn, name)(*args, **kw)(x).dtype == cr.float32, name


def test_activations_have_no_parameters_and_work_in_sequential():
    for name, args, kw in CASES:
        m = getattr(nn, name)(*args, **kw)
        assert list(m.parameters()) == [] and list(m.state_dict()) == []
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3), nn.LogSoftmax(dim=1))
    out = model(cr.randn(5, 4))
    np.testing.assert_allclose(np.exp(out.detach().numpy()).sum(1), 1.0, rtol=1e-5)


def test_relu6_is_a_hardtanh_as_in_torch():
    m = nn.ReLU6()
    assert isinstance(m, nn.Hardtanh) and (m.min_val, m.max_val) == (0.0, 6.0)
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)


INPLACE = [("relu", ()), ("relu6", ()), ("leaky_relu", (0.2,)), ("elu", (0.7,)), ("silu", ()),
           ("hardtanh", (-0.5, 0.5))]


@pytest.mark.parametrize("name, args", INPLACE, ids=[c[0] for c in INPLACE])
def test_functional_inplace_writes_into_the_input(name, args):
    x = cr.tensor(_input() * 4)
    expected = getattr(cr.nn.functional, name)(x, *args).numpy()
    version = x._vc[0]
    out = getattr(cr.nn.functional, name)(x, *args, inplace=True)
    assert out is x and x._vc[0] > version
    np.testing.assert_array_equal(x.numpy(), expected)


@needs_torch
@pytest.mark.parametrize("name, args", INPLACE, ids=[c[0] for c in INPLACE])
def test_functional_inplace_gradient_matches_torch(name, args):
    a = _input() * 4
    w = cr.tensor(a, requires_grad=True)
    h = w * 2
    y = getattr(cr.nn.functional, name)(h, *args, inplace=True)
    (y * y).sum().backward()
    tw = torch.tensor(a, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tw * 2, *args, inplace=True)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    with pytest.raises(RuntimeError, match="relu_: a leaf Variable that requires grad"):
        nn.ReLU(inplace=True)(cr.tensor(_input(), requires_grad=True))


def test_inplace_write_after_a_use_is_caught_at_backward():
    x = cr.tensor(_input(), requires_grad=True)
    h = x * 2
    s = (h * h).sum()                      # saves h
    nn.ReLU(inplace=True)(h)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.backward()
