"""Elementwise functions and activations (exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid relu
leaky_relu elu gelu silu softplus erf ...): float64 gradcheck over generated shapes, PyTorch as the oracle for
values and gradients (float64 and float32), second order, and the edges the spec names (0, near 0, +-1e4,
empty and 0-d tensors, erf accuracy, integer inputs).

Expected values come from PyTorch or from finite differences, never from chainrule itself.
"""
import numpy as np
import pytest
from hypothesis import given

import chainrule as cr
import chainrule.nn.functional as F
from oracle import arrays_for, check_gradcheck, check_torch, needs_torch, shapes, torch

TF = torch.nn.functional if torch else None
SMALL = dict(max_dims=3, max_side=3)          # gradcheck builds full Jacobians: keep inputs small


def M(x):
    """The module a tensor belongs to, so one lambda can run on chainrule and on torch."""
    return cr if isinstance(x, cr.Tensor) else torch


def NF(x):
    return F if isinstance(x, cr.Tensor) else TF


# name: (fn running on either library, domain).  Domains: 'real' standard normal; 'pos' >= 0.5;
# 'wide' uniform in [-6, 6] (saturating activations); 'away' |x| >= 0.1 (kinks at 0 stay out of the
# finite-difference stencil).
UNARY = {
    "exp": (lambda x: x.exp(), "real"),
    "cr.exp": (lambda x: M(x).exp(x), "real"),
    "log": (lambda x: x.log(), "pos"),
    "cr.log": (lambda x: M(x).log(x), "pos"),
    "log1p": (lambda x: x.log1p(), "pos"),
    "cr.log1p": (lambda x: M(x).log1p(x - 1.4), "pos"),            # arguments in (-0.9, ...)
    "sqrt": (lambda x: x.sqrt(), "pos"),
    "cr.sqrt": (lambda x: M(x).sqrt(x), "pos"),
    "rsqrt": (lambda x: x.rsqrt(), "pos"),
    "cr.rsqrt": (lambda x: M(x).rsqrt(x), "pos"),
    "abs": (lambda x: x.abs(), "away"),
    "cr.abs": (lambda x: M(x).abs(x), "away"),
    "abs()": (lambda x: abs(x), "away"),
    "sign": (lambda x: x.sign() * x, "away"),       # sign has a zero gradient: multiply so gradcheck sees it
    "cr.sign": (lambda x: M(x).sign(x) + x, "away"),
    "sin": (lambda x: x.sin(), "wide"),
    "cr.sin": (lambda x: M(x).sin(x), "real"),
    "cos": (lambda x: x.cos(), "wide"),
    "cr.cos": (lambda x: M(x).cos(x), "real"),
    "tanh": (lambda x: x.tanh(), "wide"),
    "cr.tanh": (lambda x: M(x).tanh(x), "real"),
    "F.tanh": (lambda x: NF(x).tanh(x), "real"),
    "sigmoid": (lambda x: x.sigmoid(), "wide"),
    "cr.sigmoid": (lambda x: M(x).sigmoid(x), "real"),
    "F.sigmoid": (lambda x: NF(x).sigmoid(x), "real"),
    "relu": (lambda x: x.relu(), "away"),
    "cr.relu": (lambda x: M(x).relu(x), "away"),
    "F.relu": (lambda x: NF(x).relu(x), "away"),
    "leaky_relu": (lambda x: NF(x).leaky_relu(x), "away"),
    "leaky_relu 0.2": (lambda x: NF(x).leaky_relu(x, 0.2), "away"),
    "leaky_relu -1.5": (lambda x: NF(x).leaky_relu(x, negative_slope=-1.5), "away"),
    "elu": (lambda x: NF(x).elu(x), "away"),
    "elu alpha=2.5": (lambda x: NF(x).elu(x, alpha=2.5), "away"),
    "gelu": (lambda x: NF(x).gelu(x), "wide"),
    "gelu none": (lambda x: NF(x).gelu(x, approximate="none"), "real"),
    "gelu tanh": (lambda x: NF(x).gelu(x, approximate="tanh"), "wide"),
    "silu": (lambda x: NF(x).silu(x), "wide"),
    "softplus": (lambda x: NF(x).softplus(x), "wide"),
    "softplus beta=2": (lambda x: NF(x).softplus(x, beta=2.0), "wide"),
    "softplus beta=0.5 threshold=1": (lambda x: NF(x).softplus(x, beta=0.5, threshold=1.0), "real"),
    "softplus threshold=3": (lambda x: NF(x).softplus(x * 2, threshold=3.0), "wide"),
    "erf": (lambda x: x.erf(), "wide"),
    "cr.erf": (lambda x: M(x).erf(x), "real"),
    "relu6": (lambda x: NF(x).relu6(x * 4), "away"),
}


def domain_arrays(shape, domain, seed):
    if domain == "wide":
        return arrays_for([shape], seed=seed, low=-6.0, high=6.0)
    if domain == "away":
        a, = arrays_for([shape], seed=seed)
        return [np.where(a >= 0, 1.0, -1.0) * (np.abs(a) + 0.1)]
    return arrays_for([shape], seed=seed, positive=(domain == "pos"))


@needs_torch
@pytest.mark.parametrize("name", list(UNARY))
@given(shape=shapes(**SMALL))
def test_unary_gradcheck_and_torch(name, shape):
    fn, domain = UNARY[name]
    x = domain_arrays(shape, domain, seed=len(shape) + 1)
    check_gradcheck(fn, x)
    check_torch(fn, fn, x)


# Second order for the functions whose backward is itself a differentiable formula.
SECOND = ["exp", "log", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid", "gelu", "gelu tanh", "silu", "softplus",
          "softplus beta=2", "erf", "sin", "cos", "elu", "elu alpha=2.5"]


@pytest.mark.parametrize("name", SECOND)
@given(shape=shapes(max_dims=2, max_side=3))
def test_unary_gradgradcheck(name, shape):
    fn, domain = UNARY[name]
    x = domain_arrays(shape, domain, seed=3)
    if domain == "wide":
        x = [x[0] / 2]                               # keep clear of softplus' threshold switch at 20 / beta
    assert cr.autograd.gradgradcheck(fn, [cr.tensor(x[0], dtype=cr.float64, requires_grad=True)])


@needs_torch
@pytest.mark.parametrize("name", SECOND + ["relu", "leaky_relu 0.2", "abs", "sign"])
def test_second_derivative_equals_torch(name):
    fn, domain = UNARY[name]
    x, = domain_arrays((2, 3), domain, seed=4)
    rng = np.random.default_rng(5)
    v, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def hvp(mod):
        t = mod.tensor(x, dtype=mod.float64, requires_grad=True)
        g, = mod.autograd.grad((fn(t) * mod.tensor(v, dtype=mod.float64)).sum(), [t], create_graph=True)
        if not g.requires_grad:                      # piecewise linear: the second derivative is 0
            return np.zeros_like(x)
        h, = mod.autograd.grad((g * mod.tensor(w, dtype=mod.float64)).sum(), [t], allow_unused=True)
        return np.zeros_like(x) if h is None else h.detach().numpy(force=True) if mod is torch else h.numpy()

    np.testing.assert_allclose(hvp(cr), hvp(torch), rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", list(UNARY))
def test_float32_values_grads_and_dtype_match_torch(name):
    fn, domain = UNARY[name]
    x, = domain_arrays((3, 4), domain, seed=6)
    xc = cr.tensor(x, dtype=cr.float32, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    yc, yt = fn(xc), fn(xt)
    assert yc.dtype == cr.float32
    yc.sum().backward()
    yt.sum().backward()
    assert xc.grad.dtype == cr.float32
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------------- edges
@needs_torch
@pytest.mark.parametrize("name", list(UNARY))
def test_empty_and_0d(name):
    fn, domain = UNARY[name]
    for s in [(0, 3), (), (3, 0, 2)]:
        check_torch(fn, fn, domain_arrays(s, domain, seed=7))
    xc = cr.zeros(0, 3, dtype=cr.float64, requires_grad=True)
    fn(xc).sum().backward()
    assert xc.grad.shape == (0, 3)


@needs_torch
@pytest.mark.parametrize("name,fn", [
    ("log", lambda x: x.log()), ("log1p", lambda x: x.log1p()), ("sqrt", lambda x: x.sqrt()),
    ("rsqrt", lambda x: x.rsqrt()), ("log of shifted", lambda x: (x - 1).log1p()),
])
def test_log_sqrt_at_and_near_zero_equal_torch_including_inf(name, fn):
    # exactly 0, subnormal, tiny, and (for log1p) -1: values and gradients may be +-inf; they must be the
    # same inf as PyTorch's, and nan where PyTorch has nan (negative arguments)
    x = np.array([0.0, 5e-324, 1e-300, 1e-12, 1e-6, -0.0, -1e-8, -1.0, 1.0])
    check_torch(fn, fn, [x], rtol=1e-12, atol=1e-320)     # torch flushes log1p(5e-324) to 0
    xc = cr.tensor([0.0], dtype=cr.float64, requires_grad=True)
    fn(xc).sum().backward()
    xt = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    fn(xt).sum().backward()
    assert xc.grad.item() == xt.grad.item() or (np.isnan(xc.grad.item()) and np.isnan(xt.grad.item()))


@needs_torch
@pytest.mark.parametrize("name,fn", [
    ("abs", lambda x: x.abs()), ("sign", lambda x: x.sign()), ("relu", lambda x: x.relu()),
    ("leaky_relu", lambda x: NF(x).leaky_relu(x, 0.3)), ("elu", lambda x: NF(x).elu(x, 2.0)),
    ("relu6", lambda x: NF(x).relu6(x)), ("gelu", lambda x: NF(x).gelu(x)), ("silu", lambda x: NF(x).silu(x)),
])
def test_kinks_use_torchs_one_sided_choice(name, fn):
    x = np.array([0.0, -0.0, 6.0, 1e-300, -1e-300, 2.0, -2.0])
    check_torch(fn, fn, [x], rtol=1e-12, atol=0)


@needs_torch
@pytest.mark.parametrize("name,fn", [
    ("sigmoid", lambda x: x.sigmoid()), ("softplus", lambda x: NF(x).softplus(x)),
    ("softplus beta", lambda x: NF(x).softplus(x, beta=3.0, threshold=5.0)),
    ("tanh", lambda x: x.tanh()), ("silu", lambda x: NF(x).silu(x)), ("gelu", lambda x: NF(x).gelu(x)),
    ("gelu tanh", lambda x: NF(x).gelu(x, approximate="tanh")), ("elu", lambda x: NF(x).elu(x)),
    ("erf", lambda x: x.erf()), ("exp(-x)", lambda x: (-x).exp()),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saturation_at_plus_minus_1e4_is_finite_and_equals_torch(name, fn, dtype):
    x = np.array([1e4, -1e4, 745.0, -745.0, 40.0, -40.0, 20.0, -20.0, 88.0, -88.0, 0.0])
    if name == "exp(-x)":
        x = x[np.abs(x) < 700]                        # e^745 overflows (to inf, in both libraries)
    xc = cr.tensor(x, dtype=getattr(cr, dtype), requires_grad=True)
    xt = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    yc, yt = fn(xc), fn(xt)
    yc.sum().backward()
    yt.sum().backward()
    for c, t in ((yc.detach().numpy(), yt.detach().numpy()), (xc.grad.numpy(), xt.grad.numpy())):
        if name not in ("exp(-x)",):
            assert np.isfinite(c).all(), c
        tol = 1e-12 if dtype == "float64" else 2e-6
        np.testing.assert_allclose(c, t, rtol=tol, atol=tol)


@needs_torch
def test_sigmoid_keeps_relative_precision_in_the_tail():
    x = np.array([-40.0, -300.0, -700.0, -745.0])
    # atol: sigmoid(-745) is the subnormal 5e-324 in chainrule, flushed to 0 by PyTorch
    check_torch(lambda t: t.sigmoid(), lambda t: t.sigmoid(), [x], rtol=1e-12, atol=1e-320)
    check_torch(lambda t: NF(t).softplus(t), lambda t: NF(t).softplus(t), [x], rtol=1e-12, atol=1e-320)


@needs_torch
def test_softplus_threshold_switch_equals_torch():
    # just below / at / above beta * x == threshold: PyTorch switches to the identity strictly above
    for beta, thr in [(1.0, 20.0), (2.0, 5.0), (0.5, 1.0), (1.0, 0.0)]:
        edge = thr / beta
        x = np.array([edge - 1e-3, edge, edge + 1e-3, -edge, 0.0])
        check_torch(lambda t: NF(t).softplus(t, beta=beta, threshold=thr),
                    lambda t: NF(t).softplus(t, beta=beta, threshold=thr), [x], rtol=1e-12, atol=1e-15)


@needs_torch
def test_erf_accuracy_float64_over_minus10_to_10():
    x = np.linspace(-10.0, 10.0, 400_001)
    x = np.concatenate([x, [0.46875, -0.46875, 4.0, -4.0, 0.46875 + 1e-15, 4.0 + 1e-15, 5.9, 6.0, 1e-300,
                            -1e-300, 0.0, -0.0, 26.0, -26.0, np.inf, -np.inf]])
    got = cr.erf(cr.tensor(x, dtype=cr.float64)).numpy()
    want = torch.erf(torch.tensor(x, dtype=torch.float64)).numpy()
    assert got.dtype == np.float64
    assert np.max(np.abs(got - want)) < 1e-15
    # odd function, exactly; erf(+-0) keeps the sign of zero
    np.testing.assert_array_equal(cr.erf(cr.tensor(-x, dtype=cr.float64)).numpy(), -got)
    np.testing.assert_array_equal(got[-2:], [1.0, -1.0])
    assert np.signbit(cr.erf(cr.tensor([-0.0], dtype=cr.float64)).numpy()[0])
    assert np.isnan(cr.erf(cr.tensor([np.nan], dtype=cr.float64)).item())


@needs_torch
def test_erf_float32_and_int_inputs_match_torch():
    x = np.linspace(-5, 5, 1001)
    got = cr.erf(cr.tensor(x, dtype=cr.float32))
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.numpy(), torch.erf(torch.tensor(x, dtype=torch.float32)).numpy(), atol=1e-7)
    i = cr.erf(cr.tensor([0, 1, -2]))
    assert i.dtype == cr.float32                                     # integers promote, as torch.erf
    np.testing.assert_allclose(i.numpy(), torch.erf(torch.tensor([0, 1, -2])).numpy(), atol=1e-7)


@needs_torch
def test_nan_propagates_like_torch():
    x = np.array([np.nan, 1.0])
    for name, (fn, _) in UNARY.items():
        check_torch(fn, fn, [x])


# ---------------------------------------------------------------------- integer / bool inputs
@needs_torch
@pytest.mark.parametrize("name,fn", [
    ("exp", lambda x: x.exp()), ("log", lambda x: x.log()), ("log1p", lambda x: x.log1p()),
    ("sqrt", lambda x: x.sqrt()), ("rsqrt", lambda x: x.rsqrt()), ("sin", lambda x: x.sin()),
    ("cos", lambda x: x.cos()), ("tanh", lambda x: x.tanh()), ("sigmoid", lambda x: x.sigmoid()),
    ("erf", lambda x: x.erf()), ("abs", lambda x: x.abs()), ("sign", lambda x: x.sign()),
    ("relu", lambda x: x.relu()), ("neg", lambda x: -x),
])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_inputs_dtype_and_values_match_torch(name, fn, dtype):
    data = [0, 1, 3, 7] if dtype == "uint8" else [-2, 0, 1, 3]
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)           # chainrule's default float is float32, as torch's
    try:
        yc, yt = fn(cr.tensor(data, dtype=getattr(cr, dtype))), fn(torch.tensor(data, dtype=getattr(torch, dtype)))
    finally:
        torch.set_default_dtype(old)
    assert yc.dtype.name == str(yt.dtype).replace("torch.", "")
    assert not yc.requires_grad
    np.testing.assert_allclose(yc.numpy().astype(np.float64), yt.numpy().astype(np.float64), rtol=1e-6)


@needs_torch
def test_sign_of_bool_is_bool_like_torch():
    b = cr.tensor([True, False])
    s = b.sign()
    assert s.dtype == cr.bool and s.tolist() == torch.tensor([True, False]).sign().tolist()


@pytest.mark.parametrize("name,fn", [
    ("leaky_relu", F.leaky_relu), ("elu", F.elu), ("gelu", F.gelu), ("silu", F.silu), ("softplus", F.softplus),
])
def test_float_only_activations_reject_integer_tensors_clearly(name, fn):
    # PyTorch raises for these too ("not implemented for 'Long'"); silently truncating to ints would be worse
    with pytest.raises(RuntimeError) as info:
        fn(cr.tensor([-1, 0, 2]))
    msg = str(info.value)
    assert name in msg and "int64" in msg and ".float()" in msg
    if torch is not None:
        with pytest.raises((RuntimeError, NotImplementedError)):
            getattr(TF, name)(torch.tensor([-1, 0, 2]))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu.*approximate"):
        F.gelu(cr.randn(3), approximate="fast")


def test_integer_input_never_requires_grad_through_unary_ops():
    i = cr.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="floating point"):
        i.requires_grad_()
    for y in (i.exp(), i.sqrt(), i.abs(), i.relu(), i.sigmoid()):
        assert not y.requires_grad and y.grad_fn is None
    # a float leaf next to an integer: only the float one gets a gradient, the int is promoted, not touched
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    (x.exp() * i.sqrt()).sum().backward()
    assert i.grad is None
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, -1.0, 2.0]) * np.sqrt([1.0, 2.0, 3.0]), rtol=1e-6)


# ---------------------------------------------------------------------- piecewise-constant functions
@needs_torch
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_step_functions_have_zero_gradient_and_keep_inf_nan(name):
    x = np.array([np.inf, -np.inf, np.nan, 1.5, -2.5, 0.49, -0.0])
    fn = lambda t: getattr(t, name)()                                # noqa: E731
    check_torch(fn, fn, [x])
    # an infinite upstream gradient still gives exactly 0 (as torch), not inf * 0 = nan
    check_torch(lambda t: fn(t) * M(t).tensor(np.inf, dtype=M(t).float64), lambda t: fn(t) * np.inf, [x[3:]])
    check_torch(lambda t: t.sign() * M(t).tensor(np.inf, dtype=M(t).float64), lambda t: t.sign() * np.inf, [x[3:]])
    i = cr.tensor([1, -2])
    assert getattr(i, name)().dtype == cr.int64 and getattr(i, name)().tolist() == [1, -2]
