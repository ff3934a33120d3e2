"""Elementwise arithmetic: + - * / ** neg, maximum/minimum, where, clamp, dtype casts.

Broadcasting: forward lets NumPy broadcast; backward sums the gradient back to each input's shape
(``sum_to``), because an input used at many positions receives the sum of their gradients.
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import DTypeError, DivisionByZeroError, describe, op_error
from ..tensor import Tensor, _make
from ._util import cast_to, data_of, dtype_of, is_number, operands, shape_of, wrap, xp_of, zeros_like
from .shape import sum_to


class Add(Op):
    """y = a + b;   dL/da = g,  dL/db = g"""
    __slots__ = ("a_shape", "b_shape")

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = getattr(a, "shape", ()), getattr(b, "shape", ())
        return a + b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (sum_to(g, ctx.a_shape) if na else None,
                sum_to(g, ctx.b_shape) if nb else None)


class Sub(Op):
    """y = a - b;   dL/da = g,  dL/db = -g"""
    __slots__ = ("a_shape", "b_shape")

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = getattr(a, "shape", ()), getattr(b, "shape", ())
        return a - b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (sum_to(g, ctx.a_shape) if na else None,
                sum_to(-g, ctx.b_shape) if nb else None)


class Mul(Op):
    """y = a * b;   dL/da = g * b,  dL/db = g * a"""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors_read(nb, na)      # a's value matters only for b's gradient, and vice versa
        return (sum_to(g * b, shape_of(a)) if na else None,
                sum_to(g * a, shape_of(b)) if nb else None)


class Div(Op):
    """y = a / b;   dL/da = g / b,  dL/db = -g * a / b**2"""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return a / b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors_read(nb, True)    # a's value matters only for b's gradient
        return (sum_to(g / b, shape_of(a)) if na else None,
                sum_to(-g * a / (b * b), shape_of(b)) if nb else None)


class Remainder(Op):
    """y = a - b * floor(a / b) (the sign of b, as Python's %);  dL/da = g,  dL/db = -g * floor(a / b)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return xp_of(a).remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        q = np.floor(data_of(a) / data_of(b))       # piecewise constant: no gradient of its own
        return (sum_to(g, shape_of(a)) if na else None,
                sum_to(-g * q, shape_of(b)) if nb else None)


class Neg(Op):
    """y = -x;   dL/dx = -g"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Pow(Op):
    """y = a ** b;   dL/da = g * b * a**(b-1)  (0 where b == 0),
    dL/db = g * y * ln(a)  (0 where a == 0 and b >= 0; -inf-times-g where a == 0 and b < 0)  - all as PyTorch."""
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        return a ** b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            if not is_number(b):
                # masked where b == 0: there y = 1 is constant, but b * a**(b-1) = 0 * inf = nan at a == 0
                ga = sum_to(where(b == 0, 0.0, g * b * a ** (b - 1)), shape_of(a))
            elif b == 0:
                ga = zeros_like(g)                   # y = 1: a constant zero (g * 0 is nan at g = inf)
            else:
                ga = g * (b * a ** (b - 1))
        if nb:
            from .unary import log                   # unary builds on arithmetic: a cycle
            out = ctx.output
            if not is_number(a):
                # log of a "safe" base (1 where a == 0) so that no nan/inf enters the graph for create_graph;
                # the two a == 0 cases are then filled in as constants: 0 for b >= 0, y * ln 0 = -inf for b < 0
                a0 = a == 0
                safe = where(a0 & (b >= 0), 0.0, out * log(where(a0, 1.0, a)))
                safe = where(a0 & (b < 0), -math.inf, safe)
            elif a != 0:
                safe = out * float(np.log(a))        # nan for a negative base, as ln(a) in PyTorch
            else:
                # 0 ** b: ln 0 = -inf; y = 0 or 1 for b >= 0 (gradient 0, as PyTorch), y = inf for b < 0
                safe = scale_by(out, np.where(data_of(b) >= 0, 0.0, -np.inf).astype(dtype_of(out)))
            gb = sum_to(g * safe, shape_of(b))
        return ga, gb

    @classmethod
    def explain_error(cls, exc, inputs, params):
        if "negative integer powers" in str(exc):
            a, b = inputs
            return DTypeError(f"pow: inputs {describe(a)}, {describe(b)}: integers to negative integer powers "
                              f"are not allowed (the result would not be an integer). Fix: make the base "
                              f"floating point, e.g. x.float() ** -1 (or x ** -1.0).")
        return super().explain_error(exc, inputs, params)


class Cast(Op):
    """y = x as another dtype;   dL/dx = g cast back to x's dtype (nothing flows into integer inputs)"""
    __slots__ = ("src",)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return (cast_to(g, ctx.src),)


class Maximum(Op):
    """y = max(a, b) elementwise;  the gradient goes to the larger input, split evenly on ties."""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return xp_of(a).maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_by_winner(g, a, b, (a > b), ctx.needs_input_grad)


class Minimum(Op):
    """y = min(a, b) elementwise;  the gradient goes to the smaller input, split evenly on ties."""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return xp_of(a).minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_by_winner(g, a, b, (a < b), ctx.needs_input_grad)


def _split_by_winner(g, a, b, a_wins, needs):
    tie = data_of(a == b)
    share_a = np.where(tie, 0.5, data_of(a_wins)).astype(data_of(g).dtype)   # constant weights, 1 / 0.5 / 0
    na, nb = needs
    return (sum_to(scale_by(g, share_a), shape_of(a)) if na else None,
            sum_to(scale_by(g, 1 - share_a), shape_of(b)) if nb else None)


def scale_by(g, arr):
    """g * arr for a constant array (a mask or weights, in g's dtype): no graph edge into ``arr``."""
    return Mul.apply(g, arr)


class Where(Op):
    """y = cond ? a : b;   dL/da = g where cond,  dL/db = g where not cond"""
    __slots__ = ("cond", "a_shape", "b_shape")

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond, ctx.a_shape, ctx.b_shape = cond, np.shape(a), np.shape(b)
        return xp_of(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        zero = np.zeros((), dtype_of(g))
        return (sum_to(where(ctx.cond, g, zero), ctx.a_shape) if na else None,
                sum_to(where(ctx.cond, zero, g), ctx.b_shape) if nb else None)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        # name the condition by its shape rather than printing the whole mask
        return op_error("where", exc, inputs, {"condition shape": tuple(params["cond"].shape)})


class Clamp(Op):
    """y = min(max(x, lo), hi), bounds numbers, Tensors or None.  Each element's gradient goes to exactly one
    input, as PyTorch (ties at a bound go to x, not split as in maximum/minimum):
    dL/dx = g where lo <= x <= hi,   dL/dlo = g where x < lo (and lo < hi),   dL/dhi = g where x > hi (or hi < lo)"""
    __slots__ = ("masks", "shapes")

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x)
        if lo is not None and hi is not None:
            masks = ((x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo))
            out = xp.minimum(xp.maximum(x, lo), hi)     # lo > hi gives hi everywhere (as PyTorch)
        elif lo is not None:
            masks = (x >= lo, x < lo, None)
            out = xp.maximum(x, lo)
        else:
            masks = (x <= hi, None, x > hi)
            out = xp.minimum(x, hi)
        ctx.masks, ctx.shapes = masks, (np.shape(x), np.shape(lo), np.shape(hi))
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(sum_to(scale_by(g, m), s) if need else None
                     for m, s, need in zip(ctx.masks, ctx.shapes, ctx.needs_input_grad))


# ---------------------------------------------------------------------- public functions
def add(a, b, alpha=1):
    a, b = operands(a, b)
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(a, b)


def sub(a, b, alpha=1):
    if _is_bool(a) or _is_bool(b):
        raise DTypeError(f"sub: subtraction with a bool tensor is not supported (inputs {describe(a)}, "
                         f"{describe(b)}), as in PyTorch. Fix: use ^ or logical_xor() to compare masks, or "
                         f"convert first with .long() / .float().")
    a, b = operands(a, b)
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply(a, b)


def rsub(a, b):
    return sub(b, a)


def mul(a, b):
    a, b = operands(a, b)
    return Mul.apply(a, b)


def div(a, b, rounding_mode=None):
    if rounding_mode is None:
        # true division: a Python int joins as a float, so it never wraps to an integer tensor's dtype first
        # (uint8 tensor / 1000 is 0.001, as PyTorch); the result dtype is the same either way
        a = float(a) if isinstance(a, (int, np.integer)) else a
        b = float(b) if isinstance(b, (int, np.integer)) else b
    a, b = operands(a, b)
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    if not _is_float(a) and not _is_float(b):     # true division of integers gives floats
        f = _dt.get_default_dtype()
        a = a._cast(f) if isinstance(a, Tensor) else float(a)
        b = b._cast(f) if isinstance(b, Tensor) else float(b)
    return Div.apply(a, b)


def rdiv(a, b):
    return div(b, a)


def floor_divide(a, b):
    a, b = operands(a, b)
    return _rounded_div(a, b, "floor")


def remainder(a, b):
    a, b = operands(a, b)
    _check_integer_divisor(a, b, "remainder")
    if _is_float(a) or _is_float(b):
        return Remainder.apply(a, b)
    return wrap(np.remainder(_arr(a), _arr(b)))


def _check_integer_divisor(a, b, op):
    """Integer division by zero has no answer (NumPy quietly returns 0): raise, as PyTorch does."""
    x, y = _arr(a), _arr(b)
    if np.result_type(x, y).kind in "iub" and np.any(np.asarray(y) == 0):
        raise DivisionByZeroError(f"{op}: integer division by zero (inputs {describe(a)}, {describe(b)}); "
                                  f"PyTorch raises too. Fix: mask the zero divisors, or divide as floats "
                                  f"(.float()), which gives inf/nan")


def _rounded_div(a, b, mode):
    x, y = _arr(a), _arr(b)
    if mode in ("floor", "trunc"):
        _check_integer_divisor(a, b, "floor_divide" if mode == "floor" else "div(rounding_mode='trunc')")
    if mode == "floor":
        return wrap(np.floor_divide(x, y))
    if mode == "trunc":
        q = np.trunc(np.true_divide(x, y))
        return wrap(q.astype(np.result_type(x, y)) if np.result_type(x, y).kind in "iu" else q)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {mode!r}")


def neg(x):
    return Neg.apply(x)


def pow(a, b):
    a, b = operands(a, b)
    return Pow.apply(a, b)


def rpow(a, b):
    return pow(b, a)


def cast(x, dtype):
    return Cast.apply(x, dtype=dtype)


def maximum(a, b):
    a, b = operands(a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    a, b = operands(a, b)
    return Minimum.apply(a, b)


def where(condition, input=None, other=None):
    """``where(cond, a, b)``: elements of ``a`` where ``cond`` is true, else of ``b``.
    ``where(cond)`` alone returns the indices of the true elements (as ``nonzero(as_tuple=True)``)."""
    cond = data_of(condition) if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(wrap(i) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = operands(input, other)
    return Where.apply(a, b, cond=cond)


def clamp(x, min=None, max=None):
    """Limit ``x`` to [min, max]; a bound may be a number, a Tensor (broadcast against x) or None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):      # tensor bounds take part in promotion
        dt = _dt.result_type(*(v for v in (x, min, max) if v is not None))
        x, min, max = (v._cast(dt) if isinstance(v, Tensor) else v for v in (x, min, max))
    elif data_of(x).dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = x._cast(_dt.get_default_dtype())
    return Clamp.apply(x, min, max)


def _is_bool(x):
    return isinstance(x, Tensor) and data_of(x).dtype == np.bool_


def _is_float(x):
    return data_of(x).dtype.kind == "f" if isinstance(x, Tensor) else isinstance(x, float)


def _arr(x):
    return data_of(x) if isinstance(x, Tensor) else x
