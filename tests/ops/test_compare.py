"""Comparisons and logical ops: bool (or integer, for bitwise on ints) results, never a gradient,
NumPy/PyTorch broadcasting; PyTorch is the oracle for values and dtypes."""
import operator

import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr
from oracle import broadcast_shapes, needs_torch, torch


def small_ints(shape, seed, dtype=np.float64):
    """Values in {-2..2} so that equality and ties actually happen."""
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(dtype)


def same(c, t):
    """chainrule result == torch result: values, shape and dtype name."""
    assert isinstance(c, cr.Tensor)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert tuple(c.shape) == tuple(t.shape)
    assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]


COMPARE_OPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
               "gt": operator.gt, "ge": operator.ge}


@needs_torch
@pytest.mark.parametrize("name", list(COMPARE_OPS))
@given(shapes=broadcast_shapes())
def test_comparisons_broadcast_like_torch(name, shapes):
    sa, sb = shapes
    a, b = small_ints(sa, 1), small_ints(sb, 2)
    op = COMPARE_OPS[name]
    xa = cr.tensor(a, requires_grad=True)
    xb = cr.tensor(b)
    ta, tb = torch.tensor(a), torch.tensor(b)
    for res in (op(xa, xb), getattr(cr, name)(xa, xb), getattr(xa, name)(xb)):
        same(res, op(ta, tb))
        assert res.dtype == cr.bool
        assert not res.requires_grad and res.grad_fn is None       # piecewise constant: no gradient
    same(op(xa, 0.5), op(ta, 0.5))                                  # python scalar on either side
    same(op(1, xb), op(1, tb))


@needs_torch
@pytest.mark.parametrize("name", list(COMPARE_OPS))
def test_comparisons_mixed_dtypes(name):
    op = COMPARE_OPS[name]
    i = np.array([[-1, 0, 1, 2]])
    f = np.array([[-1.0], [0.5], [2.0]])
    same(op(cr.tensor(i), cr.tensor(f)), op(torch.tensor(i), torch.tensor(f)))   # int vs float: promoted
    same(op(cr.tensor(i), 1.5), op(torch.tensor(i), 1.5))                        # not truncated to 1
    same(op(cr.tensor(i > 0), cr.tensor(i)), op(torch.tensor(i > 0), torch.tensor(i)))   # bool vs int


BITWISE = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}


@needs_torch
@pytest.mark.parametrize("name", list(BITWISE))
@given(shapes=broadcast_shapes(), ints=st.booleans())
def test_bitwise_and_logical(name, shapes, ints):
    sa, sb = shapes
    if ints:
        a, b = small_ints(sa, 3, np.int64), small_ints(sb, 4, np.int64)
    else:
        a, b = small_ints(sa, 3) > 0, small_ints(sb, 4) > 0
    op = BITWISE[name]
    ca, cb, ta, tb = cr.tensor(a), cr.tensor(b), torch.tensor(a), torch.tensor(b)
    same(op(ca, cb), op(ta, tb))
    same(op(ca, 1), op(ta, 1))
    same(op(True, cb) if not ints else op(3, cb), op(True, tb) if not ints else op(3, tb))
    # logical_* treat any non-zero as true, for every dtype, and always give bool
    fa, fb = small_ints(sa, 5), small_ints(sb, 6, np.int64)
    lname = "logical_" + name
    same(getattr(cr, lname)(cr.tensor(fa), cr.tensor(fb)), getattr(torch, lname)(torch.tensor(fa), torch.tensor(fb)))
    same(getattr(cr.tensor(fa), lname)(cr.tensor(fb)), getattr(torch.tensor(fa), lname)(torch.tensor(fb)))


@needs_torch
@given(shape=st.sampled_from([(), (3,), (2, 3)]))
def test_not_and_invert(shape):
    f = small_ints(shape, 7)
    same(cr.logical_not(cr.tensor(f)), torch.logical_not(torch.tensor(f)))
    same(cr.tensor(f).logical_not(), torch.tensor(f).logical_not())
    b = f > 0
    same(~cr.tensor(b), ~torch.tensor(b))
    i = f.astype(np.int64)
    same(~cr.tensor(i), ~torch.tensor(i))


def test_bitwise_on_floats_is_a_clear_error():
    x = cr.tensor([1.0, 2.0])
    for bad in (lambda: x & x, lambda: x | 1, lambda: cr.tensor([1]) ^ 1.5):
        with pytest.raises(TypeError, match=r"bitwise_\w+.*integer and bool.*float"):
            bad()
    with pytest.raises(TypeError, match=r"bitwise_not.*float32"):
        ~x


def test_comparison_shape_error_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"lt.*\(2, 3\).*\(4,\).*broadcast"):
        cr.zeros(2, 3) < cr.zeros(4)
    with pytest.raises(ValueError, match=r"bitwise_and.*\(2,\).*\(3,\)"):
        cr.tensor([1, 2]) & cr.tensor([1, 2, 3])


def test_eq_with_none_is_python_comparison():
    x = cr.tensor([0, 1, 2])
    assert (x == None) is False        # noqa: E711 (as PyTorch: not an elementwise comparison)
    assert (x != None) is True         # noqa: E711
    assert (x == "a") is False


def test_comparison_results_cut_the_graph_but_masks_still_route_gradients():
    x = cr.tensor([-1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    m = x > 0
    assert not m.requires_grad
    y = cr.where(m, x * 2, x * 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 2.0])


def test_equal_allclose_isclose():
    a = cr.tensor([1.0, 2.0])
    assert cr.equal(a, cr.tensor([1.0, 2.0])) and not cr.equal(a, cr.tensor([1.0, 2.0, 3.0]))
    assert cr.allclose(a, a + 1e-9) and not cr.allclose(a, a + 1e-3)
    np.testing.assert_array_equal(cr.isclose(a, cr.tensor([1.0, 2.1])).numpy(), [True, False])
