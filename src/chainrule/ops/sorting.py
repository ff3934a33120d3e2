"""Triangles and order: ``tril`` / ``triu`` (keep one triangle of the last two dims) and ``sort`` /
``argsort`` / ``topk`` (values in order, with the indices they came from).

The order ops pick elements; their gradient flows back to the picked positions only (``Gather``'s rule:
dL/dx = g scattered back to the indices), exactly as max(x, dim) does.
"""
import numpy as np

from ..autograd.function import Op
from ..errors import ShapeError
from ._util import data_of, norm_axis, wrap
from .reduce import Gather, MinMaxResult

__all__ = ["tril", "triu", "sort", "argsort", "topk", "SortResult"]


class Tril(Op):
    """y = x where col - row <= k, else 0 (over the last two dims);   dL/dx = tril(g, k)"""
    __slots__ = ("k",)

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return np.tril(x, k)

    @staticmethod
    def backward(ctx, g):
        return (Tril.apply(g, k=ctx.k),)


class Triu(Op):
    """y = x where col - row >= k, else 0 (over the last two dims);   dL/dx = triu(g, k)"""
    __slots__ = ("k",)

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return np.triu(x, k)

    @staticmethod
    def backward(ctx, g):
        return (Triu.apply(g, k=ctx.k),)


def _need_matrix(op, x):
    if x.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions, got shape {tuple(x.shape)}. "
                         f"Fix: unsqueeze a vector to a (1, n) or (n, 1) matrix first")


def tril(input, diagonal=0, *, out=None):
    """The lower triangle of the last two dims: elements with col - row <= diagonal are kept, the rest 0."""
    from ._out import write_out                  # _out imports tensor, which loads sorting: a cycle
    _need_matrix("tril", input)
    return write_out(Tril.apply(input, k=int(diagonal)), out, "tril")


def triu(input, diagonal=0, *, out=None):
    """The upper triangle of the last two dims: elements with col - row >= diagonal are kept, the rest 0."""
    from ._out import write_out                  # _out imports tensor, which loads sorting: a cycle
    _need_matrix("triu", input)
    return write_out(Triu.apply(input, k=int(diagonal)), out, "triu")


class SortResult(MinMaxResult):
    """(values, indices) with attribute access, like torch.return_types.sort / topk."""
    __slots__ = ()


def _order(arr, axis, descending):
    """Stable sort indices along ``axis``; descending keeps equal elements in their original order (as
    PyTorch's stable sort) and puts NaN first, as PyTorch treats NaN as the largest value."""
    if not descending:
        return np.argsort(arr, axis=axis, kind="stable")
    n = arr.shape[axis]
    # reverse, sort ascending stably, reverse back: equal values keep the original order, largest first
    rev = np.flip(arr, axis)
    idx = np.argsort(rev, axis=axis, kind="stable")
    return np.flip(n - 1 - idx, axis)


def _picked(x, idx, d, name):
    out = Gather.apply(x, index=np.ascontiguousarray(idx), dim=d)
    if out.grad_fn is not None:
        out.grad_fn._name = name                   # PyTorch's node name (SortBackward0 / TopkBackward0)
    return out


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """(values, indices): ``input`` sorted along ``dim`` (ascending unless ``descending``); ties keep their
    order (always stable). dL/dx: each value's gradient goes back to where it came from."""
    if input.ndim == 0:
        return SortResult((input.clone(), wrap(np.zeros((), np.int64))))
    d = norm_axis(dim, input.ndim, "sort")
    idx = _order(data_of(input), d, descending)
    result = SortResult((_picked(input, idx, d, "SortBackward0"), wrap(idx.astype(np.int64, copy=False))))
    if out is not None:
        from ._out import write_out              # _out imports tensor, which loads sorting: a cycle
        write_out(result[0], out[0], "sort")
        write_out(result[1], out[1], "sort")
        return SortResult(tuple(out))
    return result


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (stable)."""
    if input.ndim == 0:
        return wrap(np.zeros((), np.int64))
    d = norm_axis(dim, input.ndim, "argsort")
    return wrap(_order(data_of(input), d, descending).astype(np.int64, copy=False))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, largest first.
    Ties go to the lower index. dL/dx: gradient back to the picked elements."""
    d = norm_axis(dim, input.ndim, "topk") if input.ndim else 0
    n = data_of(input).shape[d] if input.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise IndexError(f"topk: k ({k}) is out of range for dimension {dim} of size {n} (input shape "
                         f"{tuple(input.shape)}); k must be in [0, {n}]")
    if input.ndim == 0:
        return SortResult((input.clone(), wrap(np.zeros((), np.int64))))
    # a full stable sort, cut at k: ties resolve exactly as sort() would (lower index first)
    idx = np.take(_order(data_of(input), d, largest), np.arange(k), axis=d)
    idx = idx.astype(np.int64, copy=False)
    result = SortResult((_picked(input, idx, d, "TopkBackward0"), wrap(np.ascontiguousarray(idx))))
    if out is not None:
        from ._out import write_out              # _out imports tensor, which loads sorting: a cycle
        write_out(result[0], out[0], "topk")
        write_out(result[1], out[1], "topk")
        return SortResult(tuple(out))
    return result
