"""Elementwise arithmetic: + - * / ** neg, maximum/minimum, where, clamp, dtype casts.

Broadcasting: forward lets NumPy broadcast; backward sums the gradient back to each input's shape
(``sum_to``), because an input used at many positions receives the sum of their gradients.
"""
import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..tensor import Tensor, _make
from ._util import operands, shape_of, xp_of
from .shape import sum_to


class Add(Op):
    """y = a + b;   dL/da = g,  dL/db = g"""
    __slots__ = ("a_shape", "b_shape")

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = np.shape(a), np.shape(b)
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
        ctx.a_shape, ctx.b_shape = np.shape(a), np.shape(b)
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
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
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
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (sum_to(g / b, shape_of(a)) if na else None,
                sum_to(-g * a / (b * b), shape_of(b)) if nb else None)


class Neg(Op):
    """y = -x;   dL/dx = -g"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Pow(Op):
    """y = a ** b;   dL/da = g * b * a**(b-1),   dL/db = g * y * log(a)  (0 where a == 0 and b >= 0)"""
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
            if isinstance(b, Tensor):
                ga = sum_to(g * b * a ** (b - 1), shape_of(a))
            elif b == 0:
                ga = g * 0
            else:
                ga = g * (b * a ** (b - 1))
        if nb:
            from .unary import log
            out = ctx.output
            if isinstance(a, Tensor):
                safe = where((a == 0) & (b >= 0), 0.0, out * log(where(a == 0, 1.0, a)))
            else:
                safe = out * float(np.log(a)) if a != 0 else out * 0
            gb = sum_to(g * safe, shape_of(b))
        return ga, gb


class Cast(Op):
    """y = x as another dtype;   dL/dx = g cast back to x's dtype (nothing flows into integer inputs)"""
    __slots__ = ("src",)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return (g._cast(_dt.from_numpy_dtype(ctx.src)),)


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
    tie = (a == b)._data
    share_a = np.where(tie, 0.5, a_wins._data).astype(g._data.dtype)   # constant weights, 1 / 0.5 / 0
    na, nb = needs
    return (sum_to(scale_by(g, share_a), shape_of(a)) if na else None,
            sum_to(scale_by(g, 1 - share_a), shape_of(b)) if nb else None)


def scale_by(g, arr):
    """g * arr for a constant array (a mask or weights): no promotion, no graph edge into ``arr``."""
    return Mul.apply(g, _make(arr))


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
        zero = np.zeros((), g._data.dtype)
        return (sum_to(where(ctx.cond, g, zero), ctx.a_shape) if na else None,
                sum_to(where(ctx.cond, zero, g), ctx.b_shape) if nb else None)


class Clamp(Op):
    """y = min(max(x, lo), hi);  dL/dx = g where lo <= x <= hi (bounds inclusive, as PyTorch)"""
    __slots__ = ("mask",)

    @staticmethod
    def forward(ctx, x, lo, hi):
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else (mask & (x <= hi))
        ctx.mask = mask
        return xp_of(x).clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return (scale_by(g, ctx.mask),)


# ---------------------------------------------------------------------- public functions
def add(a, b, alpha=1):
    a, b = operands(a, b)
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(a, b)


def sub(a, b, alpha=1):
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
    from ._util import wrap
    return wrap(np.remainder(_arr(a), _arr(b)))


def _rounded_div(a, b, mode):
    from ._util import wrap
    x, y = _arr(a), _arr(b)
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
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        from ._util import wrap
        return tuple(wrap(i) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = operands(input, other)
    return Where.apply(a, b, cond=cond)


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):   # tensor bounds: compose from max/min
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if x._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = x._cast(_dt.get_default_dtype())
    return Clamp.apply(x, lo=min, hi=max)


def _is_float(x):
    return x._data.dtype.kind == "f" if isinstance(x, Tensor) else isinstance(x, float)


def _arr(x):
    return x._data if isinstance(x, Tensor) else x
