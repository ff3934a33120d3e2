"""Linear and Bilinear: default init distributed as PyTorch's (bound 1/√in_features), forward and every
gradient equal to PyTorch's with the weights copied (float64), N-D and 1-D inputs, no bias, double
backward, float64 gradcheck of the functionals, clear errors naming the layer and the shapes."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.errors import ShapeError
from oracle import check_gradcheck, check_torch, needs_torch, torch

if torch is not None:
    import torch.nn as tnn


def _copy_weights(cm, tm):
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    cm.load_state_dict(sd)
    assert list(cm.state_dict()) == list(tm.state_dict())


def _compare_module(cm, tm, inputs, atol=1e-10, create_graph=False):
    """Same float64 inputs through both modules: output, input grads and parameter grads."""
    xc = [cr.tensor(a, requires_grad=True) for a in inputs]
    xt = [torch.tensor(a, requires_grad=True) for a in inputs]
    yc, yt = cm(*xc), tm(*xt)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=1e-10)
    g = np.random.default_rng(3).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(xc, xt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-10, err_msg=f"input {i}")
    for (n, p), (n2, q) in zip(cm.named_parameters(), tm.named_parameters()):
        assert n == n2
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=atol, rtol=1e-10, err_msg=n)


# ------------------------------------------------------------------ default init
@pytest.mark.parametrize("cls,args,fan_in", [(nn.Linear, (400, 300), 400), (nn.Linear, (25, 3000), 25),
                                             (nn.Bilinear, (40, 7, 300), 40)])
def test_default_init_is_uniform_with_bound_one_over_sqrt_fan_in(cls, args, fan_in):
    cr.manual_seed(0)
    m = cls(*args)
    bound = 1 / math.sqrt(fan_in)
    for name, p in m.named_parameters():
        a = p.detach().numpy().astype(np.float64).ravel()
        assert a.min() >= -bound and a.max() <= bound, name
        n = a.size
        assert abs(a.mean()) < 6 * bound / math.sqrt(3 * n), name          # U(-b, b): mean 0, var b²/3
        tol = 0.03 if n > 10000 else 0.5 / math.sqrt(n) * 6
        assert abs(a.std() / (bound / math.sqrt(3)) - 1) < tol, name
        if n > 1000:                                                        # and really spread to the bounds
            assert a.max() > 0.98 * bound and a.min() < -0.98 * bound


@needs_torch
def test_default_init_statistics_match_torch():
    """Same distribution as torch's own Linear init: compare quantiles of a big layer."""
    cr.manual_seed(1)
    torch.manual_seed(1)
    ours = nn.Linear(500, 400).weight.detach().numpy().ravel()
    theirs = tnn.Linear(500, 400).weight.detach().numpy().ravel()
    q = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    np.testing.assert_allclose(np.quantile(ours, q), np.quantile(theirs, q), atol=0.01 / math.sqrt(500) * 3)


def test_constructor_options():
    lin = nn.Linear(3, 2, bias=False, dtype=cr.float64)
    assert lin.bias is None and lin.weight.dtype == cr.float64
    assert [n for n, _ in lin.named_parameters()] == ["weight"] and list(lin.state_dict()) == ["weight"]
    assert tuple(nn.Linear(3, 2).weight.shape) == (2, 3) and nn.Linear(3, 2).weight.dtype == cr.float32
    assert tuple(nn.Bilinear(2, 3, 4).weight.shape) == (4, 2, 3)
    empty = nn.Linear(0, 2)                       # zero fan-in: no crash, bias bound 0
    np.testing.assert_array_equal(empty.bias.detach().numpy(), 0)
    assert tuple(empty(cr.ones(5, 0)).shape) == (5, 2)


# ------------------------------------------------------------------ values and gradients vs torch
@needs_torch
@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 3, 5), (2, 1, 3, 5), (0, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    tm = tnn.Linear(5, 3, bias=bias)
    cm = nn.Linear(5, 3, bias=bias, dtype=cr.float64)
    _copy_weights(cm, tm)
    x = np.random.default_rng(0).standard_normal(shape)
    _compare_module(cm, tm, [x])
    cm.eval()
    tm.eval()
    cm.zero_grad()
    tm.zero_grad()
    _compare_module(cm, tm, [x])


@needs_torch
def test_linear_non_contiguous_input_matches_torch():
    tm, cm = tnn.Linear(4, 3), nn.Linear(4, 3, dtype=cr.float64)
    _copy_weights(cm, tm)
    a = np.random.default_rng(1).standard_normal((4, 3, 2))
    xc = cr.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    yc, yt = cm(xc.permute(2, 1, 0)), tm(xt.permute(2, 1, 0))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    (yc ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(cm.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("shape1,shape2", [((6, 3), (6, 4)), ((3,), (4,)), ((2, 5, 3), (2, 5, 4))])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(shape1, shape2, bias):
    tm = tnn.Bilinear(3, 4, 2, bias=bias)
    cm = nn.Bilinear(3, 4, 2, bias=bias, dtype=cr.float64)
    _copy_weights(cm, tm)
    rng = np.random.default_rng(2)
    _compare_module(cm, tm, [rng.standard_normal(shape1), rng.standard_normal(shape2)])


@needs_torch
def test_functional_linear_and_bilinear_match_torch():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)]
    check_torch(F.linear, torch.nn.functional.linear, arrays)
    check_torch(lambda x, w: F.linear(x, w), lambda x, w: torch.nn.functional.linear(x, w), arrays[:2])
    arrays = [rng.standard_normal((5, 2)), rng.standard_normal((5, 3)), rng.standard_normal((4, 2, 3)),
              rng.standard_normal(4)]
    check_torch(F.bilinear, torch.nn.functional.bilinear, arrays)


@needs_torch
def test_linear_double_backward_matches_torch():
    """create_graph through the fused op: the gradient of a gradient norm (e.g. a gradient penalty)."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 3))
    tm, cm = tnn.Sequential(tnn.Linear(3, 5), tnn.Tanh(), tnn.Linear(5, 1)), \
        nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    _copy_weights(cm, tm)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (gc,) = cr.autograd.grad(cm(xc).sum(), xc, create_graph=True)
    (gt,) = torch.autograd.grad(tm(xt).sum(), xt, create_graph=True)
    np.testing.assert_allclose(gc.detach().numpy(), gt.detach().numpy(), atol=1e-12)
    (gc ** 2).sum().backward()
    (gt ** 2).sum().backward()
    for (n, p), q in zip(cm.named_parameters(), tm.parameters()):
        if q.grad is None:                 # the last bias does not reach dL/dx: no gradient in either
            assert n == "2.bias" and (p.grad is None or not np.any(p.grad.numpy()))
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-12, err_msg=n)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("xshape", [(3, 4), (4,), (2, 2, 4)])
def test_gradcheck_linear(xshape):
    rng = np.random.default_rng(6)
    check_gradcheck(F.linear, [rng.standard_normal(xshape), rng.standard_normal((3, 4)), rng.standard_normal(3)])
    check_gradcheck(lambda x, w: F.linear(x, w), [rng.standard_normal(xshape), rng.standard_normal((2, 4))])


@pytest.mark.parametrize("s1,s2", [((3, 2), (3, 4)), ((2,), (4,)), ((2, 2, 2), (2, 2, 4))])
def test_gradcheck_bilinear(s1, s2):
    rng = np.random.default_rng(7)
    check_gradcheck(F.bilinear, [rng.standard_normal(s1), rng.standard_normal(s2), rng.standard_normal((3, 2, 4)),
                                 rng.standard_normal(3)])


def test_float32_layer_accepts_float64_and_integer_input():
    lin = nn.Linear(3, 2)
    assert lin(cr.randn(4, 3, dtype=cr.float64)).dtype == cr.float32
    assert lin(cr.tensor([[1, 2, 3]])).dtype == cr.float32


# ------------------------------------------------------------------ errors
def test_linear_wrong_feature_size_names_layer_expected_and_got():
    lin = nn.Linear(784, 10)
    with pytest.raises(ShapeError) as ei:
        lin(cr.randn(32, 28, 28))
    msg = str(ei.value)
    assert "Linear(in_features=784, out_features=10" in msg and "784" in msg and "(32, 28, 28)" in msg
    assert "flatten" in msg
    with pytest.raises(ShapeError, match="in_features=4"):
        F.linear(cr.randn(2, 3), cr.randn(5, 4))
    with pytest.raises(ShapeError, match=r"got shape \(\)"):
        lin(cr.tensor(1.0))
    with pytest.raises(TypeError, match="chainrule Tensor"):
        lin(np.ones((2, 784)))


def test_bilinear_errors_name_layer_and_shapes():
    bl = nn.Bilinear(3, 4, 2)
    with pytest.raises(ShapeError) as ei:
        bl(cr.randn(5, 3), cr.randn(5, 3))
    msg = str(ei.value)
    assert "Bilinear(in1_features=3, in2_features=4" in msg and "in2_features=4" in msg and "(5, 3)" in msg
    with pytest.raises(ShapeError, match="in1_features=3, got 2"):
        bl(cr.randn(5, 2), cr.randn(5, 4))
    with pytest.raises(ShapeError, match="batch dimensions"):
        bl(cr.randn(5, 3), cr.randn(4, 4))
    with pytest.raises(ShapeError, match="3-D"):
        F.bilinear(cr.randn(2, 3), cr.randn(2, 4), cr.randn(3, 4))


@needs_torch
def test_reprs_match_torch():
    for args in [(3, 4), (3, 4, False)]:
        assert repr(nn.Linear(*args)) == repr(tnn.Linear(*args))
    assert repr(nn.Bilinear(2, 3, 4, bias=False)) == repr(tnn.Bilinear(2, 3, 4, bias=False))
    assert repr(nn.Identity()) == repr(tnn.Identity())


@pytest.mark.parametrize("xshape", [(5,), (6, 5), (2, 3, 5)])
def test_first_order_grads_equal_create_graph_grads(xshape):
    """One backward text for both carriers: loss.backward() gives bit for bit the float32 gradients that
    autograd.grad(..., create_graph=True) gives, for 1-D, 2-D and batched inputs."""
    rng = np.random.default_rng(4)
    x, w, b = (cr.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in (xshape, (7, 5), (7,)))

    def loss():
        return (F.linear(x, w, b) ** 2).sum()
    loss().backward()
    first = [t.grad.numpy().copy() for t in (x, w, b)]
    second = cr.autograd.grad(loss(), (x, w, b), create_graph=True)
    assert all(s.requires_grad for s in second)
    for a, s in zip(first, second):
        assert a.shape == s.shape and a.tobytes() == s.detach().numpy().tobytes()
