"""autograd.Variable: old PyTorch code keeps running; ``volatile`` warns that it does nothing, as PyTorch."""
import pytest

import chainrule as cr


def test_variable_returns_a_tensor_and_sets_requires_grad():
    v = cr.autograd.Variable(cr.ones(2), requires_grad=True)
    assert isinstance(v, cr.Tensor) and v.requires_grad


def test_volatile_warns_that_it_has_no_effect():
    with pytest.warns(UserWarning, match="volatile was removed.*no_grad"):
        v = cr.autograd.Variable(cr.ones(2), volatile=True)
    assert isinstance(v, cr.Tensor)
