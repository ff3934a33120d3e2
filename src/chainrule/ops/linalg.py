"""Matrix products. ``matmul`` follows NumPy/PyTorch semantics: 1-D operands are promoted to a row /
column and the added dim removed afterwards; leading dims broadcast (batched matmul)."""
import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import as_tensor
from .shape import mT, reshape, sum_to, unsqueeze


class Matmul(Op):
    """Y = A @ B;   dL/dA = G @ Bᵀ,   dL/dB = Aᵀ @ G   (summed over broadcast batch dims)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, a, b):
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        a_shape, b_shape = a._data.shape, b._data.shape
        if len(a_shape) == 1 and len(b_shape) == 1:     # dot product: g is a scalar
            return (g * b if na else None), (g * a if nb else None)
        if len(a_shape) == 1:          # (k,) @ (..., k, m): treat a as (1, k); g gains that row back
            a = reshape(a, (1,) + a_shape)
            g = unsqueeze(g, -2)
        if len(b_shape) == 1:          # (..., n, k) @ (k,): treat b as (k, 1)
            b = reshape(b, b_shape + (1,))
            g = unsqueeze(g, -1)
        ga = gb = None
        if na:
            ga = g @ mT(b)
            ga = reshape(sum_to(ga, a._data.shape), a_shape) if ga._data.shape != a_shape else ga
        if nb:
            gb = mT(a) @ g
            gb = reshape(sum_to(gb, b._data.shape), b_shape) if gb._data.shape != b_shape else gb
        return ga, gb

    @classmethod
    def explain_error(cls, exc, inputs, params):
        a, b = (tuple(t.shape) for t in inputs)
        if not a or not b:
            return ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes {a} and {b}")
        k_a = a[-1]
        k_b = b[-2] if len(b) > 1 else b[0]
        if k_a != k_b:
            return ShapeError(f"matmul: shapes {a} and {b} cannot be multiplied: the last dim of the first "
                              f"({k_a}) must equal the {'second-to-last' if len(b) > 1 else 'only'} dim of the "
                              f"second ({k_b}). Did you mean to transpose one of them (x.T / x.mT)?")
        return ShapeError(f"matmul: batch dims of shapes {a} and {b} cannot be broadcast together ({exc})")


def matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    if a._data.dtype != b._data.dtype:
        dt = _dt.result_type(a, b)
        a, b = a._cast(dt), b._cast(dt)
    return Matmul.apply(a, b)


def rmatmul(a, b):
    return matmul(b, a)


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: both arguments must be 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: both arguments must be 3-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    return matmul(a, v)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: 1D tensors expected, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return unsqueeze(a, -1) * unsqueeze(b, 0)


def einsum(equation, *operands):
    """Einstein summation, composed from differentiable ops when it is a matmul-like contraction is
    not attempted here: this version records a single node whose backward uses einsum again."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(*[as_tensor(o) for o in operands], equation=equation)


class Einsum(Op):
    """y = einsum(eq, x_1..x_n);   dL/dx_i = einsum(eq with x_i's subscripts as output, g, others)"""
    __slots__ = ("lhs", "out")
    save_inputs = True

    @staticmethod
    def forward(ctx, *xs, equation):
        eq = equation.replace(" ", "")
        if "->" in eq:
            lhs, out = eq.split("->")
        else:
            lhs = eq
            letters = lhs.replace(",", "")
            out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        if "." in eq:
            raise NotImplementedError("einsum: ellipsis ('...') is not supported yet; write the dims out")
        ctx.lhs, ctx.out = lhs.split(","), out
        return np.einsum(f"{lhs}->{out}", *xs, optimize=True)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            sub_i = ctx.lhs[i]
            others = [ctx.lhs[j] for j in range(len(xs)) if j != i]
            # letters of x_i that appear nowhere else were summed away: broadcast them back with ones
            present = set(ctx.out) | set("".join(others))
            missing = [c for c in sub_i if c not in present]
            terms, ops = [ctx.out] + others, [g] + [xs[j] for j in range(len(xs)) if j != i]
            for c in dict.fromkeys(missing):
                size = xs[i]._data.shape[sub_i.index(c)]
                terms.append(c)
                ops.append(as_tensor(np.ones(size, xs[i]._data.dtype)))
            if len(set(sub_i)) != len(sub_i):
                raise NotImplementedError("einsum backward: repeated subscripts in one operand (a trace/diagonal) "
                                          "are not supported")
            grads.append(einsum(",".join(terms) + "->" + sub_i, *ops))
        return tuple(grads)
