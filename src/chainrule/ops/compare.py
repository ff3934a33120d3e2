"""Comparisons and logical ops: bool results, no gradient (they are piecewise constant)."""
import numpy as np

from ..errors import DTypeError, describe, op_error
from ..tensor import Tensor
from ._util import operands, wrap


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _compare(name, fn):
    def op(a, b):
        a, b = operands(a, b)
        try:
            return wrap(fn(_arr(a), _arr(b)))
        except (ValueError, TypeError) as exc:
            raise op_error(name, exc, (a, b), {}) from None
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` -> bool tensor (no gradient)."
    return op


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _eq_operator(fn):
    """``t == None`` / ``t == 'a'`` are plain Python comparisons (False / True for !=), as in PyTorch."""
    def op(a, b):
        if b is None or isinstance(b, str):
            return NotImplemented
        return fn(a, b)
    op.__name__ = fn.__name__
    return op


eq_operator, ne_operator = _eq_operator(eq), _eq_operator(ne)


def _logical(name, fn, bitwise):
    def op(a, b):
        a, b = operands(a, b)
        x, y = _arr(a), _arr(b)
        kind = np.result_type(x, y).kind if bitwise else "b"
        if kind not in "iub":            # & | ^ on floats have no meaning (PyTorch refuses too)
            raise DTypeError(f"{name} (&, |, ^): only integer and bool tensors are supported, got "
                             f"{describe(a)} and {describe(b)}. Fix: compare first (x > 0) or use "
                             f"logical_{name.split('_')[1]} for truth values.")
        try:
            if kind in "iu":
                return wrap(np.asarray(bitwise(x, y)))
            return wrap(np.asarray(fn(x, y)))
        except (ValueError, TypeError) as exc:
            raise op_error(name, exc, (a, b), {}) from None
    op.__name__ = name
    return op


logical_and = _logical("logical_and", np.logical_and, None)
logical_or = _logical("logical_or", np.logical_or, None)
logical_xor = _logical("logical_xor", np.logical_xor, None)
bitwise_and = _logical("bitwise_and", np.logical_and, np.bitwise_and)
bitwise_or = _logical("bitwise_or", np.logical_or, np.bitwise_or)
bitwise_xor = _logical("bitwise_xor", np.logical_xor, np.bitwise_xor)


def logical_not(x):
    return wrap(np.logical_not(x._data))


def bitwise_not(x):
    if x._data.dtype == np.bool_:
        return wrap(np.logical_not(x._data))
    if x._data.dtype.kind not in "iu":
        raise TypeError(f"bitwise_not (~): only integer and bool tensors are supported, got {x.dtype}")
    return wrap(np.invert(x._data))


def equal(a, b):
    """True if both have the same shape and elements."""
    return a.shape == b.shape and bool(np.array_equal(_arr(a), _arr(b)))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(np.allclose(_arr(a), _arr(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return wrap(np.isclose(_arr(a), _arr(b), rtol=rtol, atol=atol, equal_nan=equal_nan))
