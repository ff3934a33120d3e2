"""no_grad / enable_grad / set_grad_enabled / inference_mode as context managers, decorators and plain calls."""
import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    yield
    cr.set_grad_enabled(True)


def x_():
    return cr.tensor([1.0, 2.0], requires_grad=True)


def test_no_grad_context_records_nothing():
    x = x_()
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    z = x * 2
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_as_decorator():
    @cr.no_grad()
    def f(t):
        assert not cr.is_grad_enabled()
        return t * 2

    y = f(x_())
    assert not y.requires_grad
    assert cr.is_grad_enabled()
    assert f.__name__ == "f"


def test_bare_decorators_without_parentheses():
    @cr.no_grad
    def off(t):
        return t * 2

    @cr.enable_grad
    def on(t):
        return t * 2

    @cr.inference_mode
    def inf(t):
        return t * 2

    assert not off(x_()).requires_grad and off.__name__ == "off"
    assert not inf(x_()).requires_grad
    with cr.no_grad():
        assert on(x_()).requires_grad
    assert cr.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = x_()
    with cr.no_grad():
        with cr.enable_grad():
            y = x * 2
            assert cr.is_grad_enabled()
        z = x * 2
        assert not cr.is_grad_enabled()
    assert y.requires_grad and not z.requires_grad


def test_enable_grad_as_decorator_inside_no_grad():
    @cr.enable_grad()
    def f(t):
        return t * 3

    with cr.no_grad():
        y = f(x_())
        assert not cr.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()


def test_nested_no_grad_restores_the_outer_mode():
    with cr.no_grad():
        with cr.no_grad():
            pass
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            1 / 0
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def boom():
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()
    assert cr.is_grad_enabled()


def test_set_grad_enabled_as_plain_call():
    x = x_()
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    assert not (x * 2).requires_grad
    cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()
    assert (x * 2).requires_grad


def test_set_grad_enabled_as_context_manager():
    x = x_()
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with cr.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    with cr.no_grad():
        with cr.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not cr.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_flip_the_switch():
    @cr.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert cr.is_grad_enabled()
    assert not f(x_()).requires_grad
    assert cr.is_grad_enabled()


def test_inference_mode():
    x = x_()
    with cr.inference_mode():
        assert not (x * 2).requires_grad
    with cr.inference_mode(False):
        assert (x * 2).requires_grad
    assert cr.is_grad_enabled()


def test_autograd_namespace_exports_the_same_switches():
    assert cr.autograd.no_grad is cr.no_grad
    assert cr.autograd.set_grad_enabled is cr.set_grad_enabled
    assert cr.autograd.enable_grad is cr.enable_grad


def test_manual_sgd_step_under_no_grad():
    w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    (w * w).sum().backward()
    with cr.no_grad():
        w -= 0.1 * w.grad              # in-place update of a leaf: allowed under no_grad
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6])
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.6, -3.2])


def test_inplace_on_leaf_requiring_grad_outside_no_grad_is_an_error():
    w = x_()
    with pytest.raises(RuntimeError, match="leaf"):
        w.add_(1.0)


def test_detach_shares_memory_and_leaves_the_graph():
    x = x_()
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    z = (d * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])     # no gradient through d


def test_requires_grad_():
    x = cr.tensor([1.0, 2.0])
    assert not x.requires_grad
    assert x.requires_grad_() is x
    assert x.requires_grad and x.is_leaf
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    x.requires_grad_(False)
    assert not (x * 3).requires_grad


def test_requires_grad_on_integer_tensor_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"floating point.*int64"):
        cr.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)


def test_requires_grad_false_on_non_leaf_is_a_clear_error():
    y = x_() * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_backward_restores_grad_mode_and_works_under_no_grad():
    # with create_graph=False the rules run without recording; the caller's mode is restored afterwards
    x = x_()
    (g,) = cr.autograd.grad((x * x).sum(), x)
    assert not g.requires_grad
    assert cr.is_grad_enabled()
    y = (x * x).sum()
    with cr.no_grad():
        y.backward()                     # a graph recorded earlier can be backpropagated under no_grad
        assert not cr.is_grad_enabled()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_inference_mode_as_decorator_keeps_its_argument():
    @cr.inference_mode()
    def off(t):
        return t * 2

    @cr.inference_mode(False)
    def on(t):
        return t * 2

    assert not off(x_()).requires_grad
    with cr.no_grad():
        assert on(x_()).requires_grad
