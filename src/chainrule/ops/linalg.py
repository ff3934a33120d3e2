"""Matrix products. ``matmul`` follows NumPy/PyTorch semantics: 1-D operands are promoted to a row /
column and the added dim removed afterwards; leading dims broadcast (batched matmul)."""
import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor, _make
from ._util import as_tensor, data_of
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
        a_shape, b_shape = data_of(a).shape, data_of(b).shape
        if len(a_shape) == 2 and len(b_shape) == 2:     # the common case: two GEMMs (.T: either carrier)
            return (g @ b.T if na else None), (a.T @ g if nb else None)
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
            ga = reshape(sum_to(ga, data_of(a).shape), a_shape) if data_of(ga).shape != a_shape else ga
        if nb:
            gb = mT(a) @ g
            gb = reshape(sum_to(gb, data_of(b).shape), b_shape) if data_of(gb).shape != b_shape else gb
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
        return ShapeError(f"matmul: batch dims {a[:-2]} and {b[:-2]} of shapes {a} and {b} cannot be broadcast "
                          f"together: aligned from the right, each pair must be equal or one of them 1. "
                          f"Fix: reshape/unsqueeze one operand, or loop over the batch")


def matmul(a, b):
    if type(a) is np.ndarray and type(b) is np.ndarray:    # a backward rule's raw carrier: an array back
        return Matmul.apply(a, b)
    a, b = as_tensor(a), as_tensor(b)
    if data_of(a).dtype != data_of(b).dtype:
        dt = _dt.result_type(a, b)
        a, b = a._cast(dt), b._cast(dt)
    return Matmul.apply(a, b)


def rmatmul(a, b):
    return matmul(b, a)


def _need(op, x, ndim, what):
    if x.ndim != ndim:
        raise ShapeError(f"{op}: {what} must be {ndim}-D, got shape {tuple(x.shape)}")


def _inner(op, a, b, ka, kb, which="second-to-last"):
    """The contracted sizes of ``op``'s two operands must agree: say which shapes and how to fix it."""
    if ka != kb:
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
                         f"({ka} != {kb}): the last dim of the first must equal the {which} dim of the "
                         f"second. Did you mean to transpose one of them (x.T / x.mT)?")


def mm(a, b):
    """(n, k) @ (k, m) -> (n, m); both must be 2-D (no broadcasting, as torch.mm)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: both arguments must be 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    _inner("mm", a, b, a.shape[1], b.shape[0])
    return matmul(a, b)


def bmm(a, b):
    """(B, n, k) @ (B, k, m) -> (B, n, m); both 3-D with the same batch size (no broadcasting, as torch.bmm)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: both arguments must be 3-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: batch sizes of shapes {tuple(a.shape)} and {tuple(b.shape)} differ "
                         f"({a.shape[0]} != {b.shape[0]}); bmm does not broadcast. Fix: use matmul (which "
                         f"broadcasts batch dims) or expand the smaller batch")
    _inner("bmm", a, b, a.shape[2], b.shape[1])
    return matmul(a, b)


def mv(a, v):
    """(n, k) @ (k,) -> (n,)."""
    a, v = as_tensor(a), as_tensor(v)
    _need("mv", a, 2, "the matrix (first argument)")
    _need("mv", v, 1, "the vector (second argument)")
    _inner("mv", a, v, a.shape[1], v.shape[0], "only")
    return matmul(a, v)


def dot(a, b):
    """Σ a_i b_i of two 1-D tensors of the same size."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: 1D tensors expected, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} have different numbers of "
                         f"elements ({a.shape[0]} != {b.shape[0]}); dot needs two vectors of the same size")
    return matmul(a, b)


def outer(a, b):
    """y_ij = a_i b_j of two 1-D tensors (an (n,) and an (m,) give (n, m))."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: 1D tensors expected, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return unsqueeze(a, -1) * unsqueeze(b, 0)


ger = outer


def einsum(equation, *operands):
    """Einstein summation (``'ij,jk->ik'``; implicit output = the letters used once, sorted). Records one
    node whose backward is einsum again, so it is differentiable to any order. Operands are promoted to
    one dtype first, as for every other binary op."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not any(isinstance(o, Tensor) for o in operands) and all(isinstance(o, np.ndarray) for o in operands):
        return Einsum.apply(*operands, equation=equation)      # raw arrays (a backward rule at first order)
    xs = [as_tensor(o) for o in operands]
    if len({data_of(x).dtype for x in xs}) > 1:
        dt = _dt.result_type(*xs)
        xs = [x._cast(dt) for x in xs]
    return Einsum.apply(*xs, equation=equation)


class Einsum(Op):
    """y = einsum(eq, x_1..x_n);   dL/dx_i = einsum(g, the other operands -> x_i's subscripts)

    Two letters need help in that gradient einsum: one of x_i's that appears nowhere else was summed away,
    so it is broadcast back (an operand of ones); one repeated within x_i (a diagonal, 'ii->i') becomes a
    fresh letter tied to the first by an identity matrix, so the gradient lands on the diagonal only."""
    __slots__ = ("lhs", "out")
    save_inputs = True

    @staticmethod
    def forward(ctx, *xs, equation):
        eq = equation.replace(" ", "")
        if "." in eq:
            raise NotImplementedError("einsum: ellipsis ('...') is not supported yet; write the dims out")
        if "->" in eq:
            lhs, out = eq.split("->")
        else:
            lhs = eq
            letters = lhs.replace(",", "")
            out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        ctx.lhs, ctx.out = lhs.split(","), out
        return np.einsum(f"{lhs}->{out}", *xs, optimize=True)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        used = set("".join(ctx.lhs) + ctx.out)
        fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            sub_i, shape_i, dtype = ctx.lhs[i], data_of(xs[i]).shape, data_of(xs[i]).dtype
            others = [j for j in range(len(xs)) if j != i]
            terms, ops = [ctx.out] + [ctx.lhs[j] for j in others], [g] + [xs[j] for j in others]
            present = set("".join(terms))
            target = ""
            for pos, c in enumerate(sub_i):
                if c in target:                      # repeated: a fresh letter, tied to c by the identity
                    f = next(fresh)
                    terms.append(c + f)
                    ops.append(np.eye(shape_i[pos], dtype=dtype))
                    target += f
                    continue
                if c not in present:                 # summed away in the forward: broadcast back
                    terms.append(c)
                    ops.append(np.ones(shape_i[pos], dtype))
                    present.add(c)
                target += c
            grads.append(einsum(",".join(terms) + "->" + target, *ops))
        return tuple(grads)
