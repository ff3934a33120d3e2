"""The public gradcheck / gradgradcheck: pass on correct functions, fail (naming input and element) on wrong."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def f64(values, requires_grad=True):
    return cr.tensor(np.asarray(values, dtype=np.float64), dtype=cr.float64, requires_grad=requires_grad)


class CubeDetached(Function):
    """First derivative right (3x^2), but computed from a detached copy: its own derivative w.r.t. x is lost,
    so gradcheck passes and gradgradcheck must fail."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cr.tensor(3 * x.detach().numpy() ** 2)


class SinWithWrongElement(Function):
    """Backward is right except at flat index 4."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        g = grad * x.cos()
        bump = np.zeros(x.shape)
        bump.reshape(-1)[4] = 1.0
        return g + cr.tensor(bump)


@pytest.mark.parametrize("fn, shapes", [
    (lambda a: (a * a).sum(), [(3,)]),
    (lambda a, b: a * b + a.exp(), [(2, 3), (2, 3)]),
    (lambda a, b: a @ b, [(2, 3), (3, 4)]),
    (lambda a, b: (a / b).tanh(), [(4,), (1,)]),
    (lambda a: (a.sin(), a.cos() * 2), [(3,)]),           # several outputs
])
def test_gradcheck_passes_on_correct_functions(fn, shapes):
    rng = np.random.default_rng(0)
    xs = [f64(rng.standard_normal(s) + 2.0) for s in shapes]
    assert gradcheck(fn, xs)


@pytest.mark.parametrize("fn, shapes", [
    (lambda a: (a * a * a).sum(), [(3,)]),
    (lambda a, b: (a * b).tanh(), [(2, 2), (2, 2)]),
    (lambda a, b: a @ b, [(2, 3), (3, 2)]),
    (lambda a: a.exp().log1p(), [(3,)]),
])
def test_gradgradcheck_passes_on_correct_functions(fn, shapes):
    rng = np.random.default_rng(1)
    xs = [f64(rng.standard_normal(s)) for s in shapes]
    assert gradgradcheck(fn, xs)


def test_gradcheck_fails_naming_input_and_element():
    x = f64(np.linspace(-1, 1, 6).reshape(2, 3))
    with pytest.raises(GradcheckError) as info:
        gradcheck(SinWithWrongElement.apply, (x,))
    msg = str(info.value)
    assert "input 0" in msg
    assert "(1, 1)" in msg          # flat index 4 of a (2, 3) input
    assert "numerical" in msg and "analytical" in msg


def test_gradcheck_names_the_right_input_among_several():
    def f(a, b, c):
        return a * 2 + SinWithWrongElement.apply(c) * b

    xs = [f64(np.full(5, 0.3)), f64(np.full(5, 1.0)), f64(np.linspace(0, 1, 5))]
    with pytest.raises(GradcheckError, match=r"input 2.*element \(4,\)"):
        gradcheck(f, xs)


def test_gradcheck_raise_exception_false_returns_false():
    x = f64(np.linspace(-1, 1, 6))
    assert gradcheck(SinWithWrongElement.apply, (x,), raise_exception=False) is False


def test_gradcheck_ignores_inputs_without_requires_grad():
    x = f64([1.0, 2.0])
    c = f64([5.0, -1.0], requires_grad=False)
    assert gradcheck(lambda a, b: a * b, (x, c))


def test_gradcheck_with_non_tensor_arguments():
    x = f64([0.5, 1.5])
    assert gradcheck(lambda a, k: a ** k, (x, 3))


def test_gradcheck_needs_a_differentiable_input():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(lambda a: a * 2, (f64([1.0], requires_grad=False),))


def test_gradcheck_warns_on_float32():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        gradcheck(lambda a: a * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradcheck_leaves_the_inputs_unchanged():
    xv = np.array([0.1, 0.2, 0.3])
    x = f64(xv)
    gradcheck(lambda a: a.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), xv)
    assert x.grad is None


def test_gradgradcheck_catches_a_non_differentiable_backward():
    x = f64([0.5, -1.0, 2.0])
    assert gradcheck(CubeDetached.apply, (x,))            # the first derivative is right...
    with pytest.raises(GradcheckError, match=r"input 0"):  # ...its derivative is not
        gradgradcheck(CubeDetached.apply, (x,))


def test_gradgradcheck_with_explicit_grad_outputs():
    x = f64([0.5, -1.0])
    v = f64([1.0, 2.0])
    assert gradgradcheck(lambda a: a ** 3, (x,), grad_outputs=(v,))
