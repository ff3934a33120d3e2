"""User-defined ops: ``cr.autograd.Function`` with ctx.save_for_backward / saved_tensors / needs_input_grad."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from oracle import needs_torch, torch


class Exp(Function):
    """y = e^x, saving the output (dy/dx = y)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class Cube(Function):
    """y = x^3, saving the input."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class ScaledMul(Function):
    """y = alpha * a * b with a non-tensor argument ``alpha`` (its gradient slot is None)."""

    @staticmethod
    def forward(ctx, a, alpha, b):
        ctx.save_for_backward(a, b)
        ctx.alpha = alpha
        ctx.seen_needs = ctx.needs_input_grad
        return a * b * alpha

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad * b * ctx.alpha if ctx.needs_input_grad[0] else None
        gb = grad * a * ctx.alpha if ctx.needs_input_grad[2] else None
        return ga, None, gb


class WrongCube(Function):
    """Buggy backward: 2x^2 instead of 3x^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x ** 2


def f64(values, requires_grad=True):
    return cr.tensor(np.asarray(values, dtype=np.float64), dtype=cr.float64, requires_grad=requires_grad)


def test_cube_forward_backward():
    xv = np.array([-2.0, 0.5, 3.0])
    x = f64(xv)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.detach().numpy(), xv ** 3)
    assert y.requires_grad and not y.is_leaf
    assert "Cube" in y.grad_fn.name()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * xv ** 2)


def test_exp_saving_its_output():
    xv = np.array([-1.0, 0.0, 1.5])
    x = f64(xv)
    y = Exp.apply(x)
    (y * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(xv), rtol=1e-12)


def test_saved_output_does_not_make_a_reference_cycle():
    import gc
    import weakref
    x = f64([1.0])
    y = Exp.apply(x)
    node = weakref.ref(y.grad_fn)
    gc.disable()
    try:
        del y
        assert node() is None, "the Function node survived its output: a reference cycle"
    finally:
        gc.enable()


def test_gradcheck_of_user_functions():
    rng = np.random.default_rng(0)
    assert gradcheck(Cube.apply, (f64(rng.standard_normal((2, 3))),))
    assert gradcheck(Exp.apply, (f64(rng.standard_normal(4)),))
    assert gradcheck(lambda a, b: ScaledMul.apply(a, 2.5, b), (f64(rng.standard_normal(3)),
                                                              f64(rng.standard_normal(3))))


def test_gradgradcheck_of_user_function_with_differentiable_backward():
    # Cube.backward is written with Tensor ops, so its gradient is itself differentiable.
    assert gradgradcheck(Cube.apply, (f64([0.3, -1.2]),))
    x = f64([2.0])
    (g,) = cr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [12.0])


def test_non_tensor_args_and_needs_input_grad():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    y = ScaledMul.apply(a, 2.0, b)
    assert y.grad_fn.seen_needs == (True, False, False)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [6.0, 8.0])
    assert b.grad is None


def test_function_without_any_grad_input_records_nothing():
    x = f64([1.0], requires_grad=False)
    y = Cube.apply(x)
    assert y.grad_fn is None and not y.requires_grad
    with cr.no_grad():
        y = Cube.apply(f64([1.0]))
    assert y.grad_fn is None and not y.requires_grad


def test_forward_runs_without_recording():
    recorded = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            z = x * 2
            recorded.append(z.requires_grad)
            return z

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = f64([1.0])
    Probe.apply(x).sum().backward()
    assert recorded == [False]
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_wrong_backward_is_caught_by_gradcheck_naming_input_and_element():
    x = f64([[0.5, 1.0], [-1.5, 2.0]])
    with pytest.raises(GradcheckError, match=r"input 0.*element \(0, 0\)"):
        gradcheck(WrongCube.apply, (x,))
    assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_wrong_second_input_is_named():
    class BadMul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * b          # second should be g * a

    a, b = f64([1.0, 2.0, 3.0]), f64([3.0, 2.0, 5.0])
    # the first entry where a != b is element 0 (a=1, b=3); element 1 happens to be right (a == b == 2)
    with pytest.raises(GradcheckError, match=r"input 1.*element \(0,\)"):
        gradcheck(BadMul.apply, (a, b))


def test_backward_returning_too_few_gradients_is_a_clear_error():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match=r"TooFew.*1 gradients.*2 inputs"):
        TooFew.apply(a, b).sum().backward()


class ReturnsScalarGrad(Function):
    """Buggy backward: returns a 0-d gradient for a (3,) input."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g.sum()


@pytest.mark.parametrize("make_input", [lambda x: x, lambda x: x * 1, lambda x: x.exp()],
                         ids=["leaf", "through-add-like", "through-exp"])
def test_backward_returning_a_wrongly_shaped_gradient_is_a_clear_error(make_input):
    # without the check the () gradient would broadcast silently into a wrong (3,) gradient upstream
    x = f64([1.0, 2.0, 3.0])
    y = ReturnsScalarGrad.apply(make_input(x))
    with pytest.raises(RuntimeError, match=r"ReturnsScalarGradBackward.*invalid gradient at index 0.*got "
                                           r"shape \(\).*compatible with \(3,\)"):
        y.sum().backward()
    assert x.grad is None


def test_backward_returning_a_broadcast_gradient_is_summed_back():
    class Bigger(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g.expand(2, 3)          # as PyTorch, a gradient that broadcasting made larger is summed

    x = f64([1.0, 2.0, 3.0])
    Bigger.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_backward_returning_a_non_tensor_is_a_clear_error():
    class GivesArray(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return np.ones(3)

    x = f64([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"GivesArrayBackward.*ndarray.*input 0"):
        GivesArray.apply(x).sum().backward()


def test_backward_gradient_is_cast_to_the_input_dtype():
    class Gives64(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.double() * 2

    x = cr.tensor([1.0, 2.0], requires_grad=True)               # float32
    h = x * 1.0
    h.retain_grad()
    Gives64.apply(h).sum().backward()
    assert h.grad.dtype == cr.float32 and x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_saved_tensors_after_backward_are_freed():
    x = f64([1.0, 2.0])
    y = Cube.apply(x)
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        node.saved_tensors


def test_inplace_change_of_saved_input_is_detected():
    x = f64([1.0, 2.0])
    h = x * 1.0
    y = Cube.apply(h)
    with cr.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_once_differentiable_backward_runs_without_graph():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @cr.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = f64([3.0])
    (g,) = cr.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0])
    assert not g.requires_grad


def test_user_function_in_the_middle_of_a_graph():
    xv = np.array([0.2, -0.4])
    x = f64(xv)
    y = Cube.apply(x.sin()).exp().sum()
    y.backward()
    s = np.sin(xv)
    np.testing.assert_allclose(x.grad.numpy(), np.exp(s ** 3) * 3 * s ** 2 * np.cos(xv), rtol=1e-12)


@needs_torch
def test_user_function_matches_torch_function():
    class TCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    xv = np.array([[0.1, -0.3], [1.2, 0.7]])
    xc, xt = f64(xv), torch.tensor(xv, requires_grad=True)
    (Cube.apply(xc) * xc).sum().backward()
    (TCube.apply(xt) * xt).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
