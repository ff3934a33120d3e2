"""Reductions (sum, mean, var, prod, max/min, logsumexp, norm) and softmax / log_softmax.

A reduction's backward spreads the gradient back over the reduced dims: evenly (sum), weighted by the
partial derivatives (prod, softmax), or onto the winning elements (max/min).
"""
import builtins as _b

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor, _make
from ._util import norm_axis, norm_dim, xp_of, wrap
from .arithmetic import scale_by, where
from .shape import expand, reshape


def _keep_shape(in_shape, axes):
    """in_shape with the reduced axes set to 1 (the shape of a keepdim=True result)."""
    return tuple(1 if i in axes else s for i, s in enumerate(in_shape))


class Sum(Op):
    """y = Σ x over ``axes``;   dL/dx = g broadcast back over the summed axes"""
    __slots__ = ("in_shape", "axes")

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        if len(ctx.axes) != len(ctx.in_shape):        # a full reduction's scalar broadcasts as it is
            g = reshape(g, _keep_shape(ctx.in_shape, ctx.axes))
        return (expand(g, ctx.in_shape),)


class Amax(Op):
    """y = max x over ``axes``;   dL/dx = g shared evenly among the elements equal to the max"""
    __slots__ = ("in_shape", "axes", "share")

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest):
        out = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        hit = x == out
        ctx.share = hit / hit.sum(axis=axes, keepdims=True).astype(x.dtype)
        ctx.in_shape, ctx.axes = x.shape, axes
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        g = expand(reshape(g, _keep_shape(ctx.in_shape, ctx.axes)), ctx.in_shape)
        return (scale_by(g, ctx.share.astype(g._data.dtype, copy=False)),)


class Prod(Op):
    """y = Π x over ``axis``;   dL/dx_i = g Π_{j≠i} x_j  (exclusive products, so zeros are handled)"""
    __slots__ = ("axis", "keepdim")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.axis, ctx.keepdim = axis, keepdim
        if axis is None:
            return x.prod()
        return x.prod(axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        axis = ctx.axis
        flat = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else axis
        n = flat.shape[ax]
        ones = np.ones_like(np.take(flat, [0], axis=ax))
        # prod of everything left of i, times prod of everything right of i
        left = np.cumprod(np.concatenate([ones, np.take(flat, range(n - 1), axis=ax)], axis=ax), axis=ax)
        right = np.flip(np.cumprod(np.concatenate(
            [ones, np.flip(np.take(flat, range(1, n), axis=ax), axis=ax)], axis=ax), axis=ax), axis=ax)
        others = (left * right).reshape(a.shape)
        if axis is None:
            g = expand(reshape(g, (1,) * a.ndim), a.shape) if a.ndim else g
        else:
            g = expand(g if ctx.keepdim else unsqueeze_(g, axis), a.shape)
        return (scale_by(g, others),)


def unsqueeze_(g, axis):
    shape = g._data.shape
    return reshape(g, shape[:axis] + (1,) + shape[axis:])


class Gather(Op):
    """y = x[..., index, ...] along ``dim`` (take_along_dim);   dL/dx = g scattered back (added) to index"""
    __slots__ = ("in_shape", "dim", "index")

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.in_shape, ctx.dim, ctx.index = x.shape, dim, index
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (ScatterAdd.apply(g, shape=ctx.in_shape, index=ctx.index, dim=ctx.dim),)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        return ShapeError(f"gather: index of shape {params['index'].shape} does not fit input of shape "
                          f"{tuple(inputs[0].shape)} along dim {params['dim']} ({exc}); the index must have "
                          f"the same number of dimensions and its values must be < the size of dim")


class ScatterAdd(Op):
    """y = zeros(shape) with g added at ``index`` along ``dim``;   dL/dg = gather of the gradient"""
    __slots__ = ("dim", "index")

    @staticmethod
    def forward(ctx, g, shape, index, dim):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, dtype=g.dtype)
        idx = list(np.indices(index.shape, sparse=True))
        idx[dim] = index
        np.add.at(out, tuple(idx), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return (Gather.apply(gg, index=ctx.index, dim=ctx.dim),)


class LogSoftmax(Op):
    """y = x - logsumexp(x);   dL/dx = g - softmax(x) Σ g"""
    __slots__ = ("dim",)
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = xp_of(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        from .unary import exp
        return (g - exp(ctx.output) * g.sum(ctx.dim, keepdim=True),)


class Softmax(Op):
    """y = e^x / Σ e^x;   dL/dx = y (g - Σ g y)"""
    __slots__ = ("dim",)
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        e = xp_of(x).exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (y * (g - (g * y).sum(ctx.dim, keepdim=True)),)


class Cumsum(Op):
    """y_i = Σ_{j<=i} x_j along dim;   dL/dx_i = Σ_{j>=i} g_j (a reversed cumsum)"""
    __slots__ = ("dim",)

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        from .shape import flip
        return (flip(cumsum(flip(g, ctx.dim), ctx.dim), ctx.dim),)


# ---------------------------------------------------------------------- public functions
def _reduce_dtype(x):
    """Sums of bool/int tensors are int64, as in PyTorch."""
    if x._data.dtype.kind in "bu" or x._data.dtype in (np.int8, np.int16, np.int32):
        return x._cast(_dt.int64)
    return x


def sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    return Sum.apply(x, axes=norm_dim(dim, x._data.ndim, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, got "
                           f"{x.dtype}. Fix: call .float() first or pass dtype=chainrule.float32")
    axes = norm_dim(dim, x._data.ndim, "mean")
    n = int(np.prod([x._data.shape[a] for a in axes])) if x._data.ndim else 1
    return Sum.apply(x, axes=axes, keepdim=keepdim) * (1.0 / n if n else float("nan"))


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Σ (x - mean)² / (N - correction); ``unbiased=True`` (default) means correction=1."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = norm_dim(dim, x._data.ndim, "var")
    n = int(np.prod([x._data.shape[a] for a in axes])) if x._data.ndim else 1
    centred = x - mean(x, axes, keepdim=True)
    denom = _b.max(n - correction, 0)
    return sum(centred * centred, axes, keepdim=keepdim) * (1.0 / denom if denom else float("inf"))


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    from .unary import sqrt
    return sqrt(var(x, dim, unbiased, keepdim, correction))


def var_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return std(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


def prod(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    axis = None if dim is None else norm_axis(dim, x._data.ndim, "prod")
    return Prod.apply(x, axis=axis, keepdim=keepdim)


def _check_nonempty(x, axes, op):
    if x._data.size == 0 and (not axes or _b.any(x._data.shape[a] == 0 for a in axes)):
        raise IndexError(f"{op}(): expected a non-empty tensor along the reduced dims, got shape "
                         f"{tuple(x.shape)}; the max/min of nothing is undefined")


def amax(x, dim=None, keepdim=False):
    axes = norm_dim(dim, x._data.ndim, "amax") if dim != () else tuple(range(x._data.ndim))
    _check_nonempty(x, axes, "amax")
    return Amax.apply(x, axes=axes, keepdim=keepdim, largest=True)


def amin(x, dim=None, keepdim=False):
    axes = norm_dim(dim, x._data.ndim, "amin") if dim != () else tuple(range(x._data.ndim))
    _check_nonempty(x, axes, "amin")
    return Amax.apply(x, axes=axes, keepdim=keepdim, largest=False)


class MinMaxResult(tuple):
    """(values, indices) with attribute access, like torch.return_types.max."""
    __slots__ = ()

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _max_min(x, dim, keepdim, other, largest):
    name = "max" if largest else "min"
    if isinstance(dim, Tensor) or (other is not None):      # max(a, b): elementwise
        from .arithmetic import maximum, minimum
        b = dim if other is None else other
        return maximum(x, b) if largest else minimum(x, b)
    if dim is None:
        return amax(x) if largest else amin(x)
    d = norm_axis(dim, x._data.ndim, name)
    _check_nonempty(x, (d,), name)
    arr = x._data
    if arr.ndim == 0:
        return MinMaxResult((x, wrap(np.zeros((), np.int64))))
    idx = (np.argmax if largest else np.argmin)(arr, axis=d)
    idx_keep = np.expand_dims(idx, d)
    values = Gather.apply(x, index=idx_keep, dim=d)
    if not keepdim:
        values = reshape(values, idx.shape)
    return MinMaxResult((values, wrap(idx_keep if keepdim else idx)))


def max(x, dim=None, keepdim=False, other=None):
    """``max(x)``: the largest element; ``max(x, dim)``: (values, indices) along dim; ``max(a, b)``: elementwise."""
    return _max_min(x, dim, keepdim, other, True)


def min(x, dim=None, keepdim=False, other=None):
    return _max_min(x, dim, keepdim, other, False)


def argmax(x, dim=None, keepdim=False):
    if dim is None:
        return wrap(np.asarray(np.argmax(x._data), dtype=np.int64))
    d = norm_axis(dim, x._data.ndim, "argmax")
    return wrap(np.argmax(x._data, axis=d, keepdims=keepdim).astype(np.int64, copy=False))


def argmin(x, dim=None, keepdim=False):
    if dim is None:
        return wrap(np.asarray(np.argmin(x._data), dtype=np.int64))
    d = norm_axis(dim, x._data.ndim, "argmin")
    return wrap(np.argmin(x._data, axis=d, keepdims=keepdim).astype(np.int64, copy=False))


def gather(x, dim, index):
    d = norm_axis(dim, x._data.ndim, "gather")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    return Gather.apply(x, index=idx, dim=d)


def take_along_dim(x, indices, dim=None):
    if dim is None:
        from .shape import reshape as _r
        return gather(_r(x, -1), 0, indices._data.reshape(-1) if isinstance(indices, Tensor) else indices)
    return gather(x, dim, indices)



def logsumexp(x, dim=None, keepdim=False):
    """log Σ e^x, computed as m + log Σ e^(x - m) with m = max x (held constant: the identity holds for any m)."""
    from .unary import exp, log
    axes = norm_dim(dim, x._data.ndim, "logsumexp")
    m = x._data.max(axis=axes, keepdims=True) if x._data.size else np.zeros(_keep_shape(x._data.shape, axes), x._data.dtype)
    m = np.where(np.isfinite(m), m, 0)
    out = log(sum(exp(x - _make(m)), axes, keepdim=True)) + _make(m)
    return out if keepdim else reshape(out, tuple(s for i, s in enumerate(x._data.shape) if i not in axes))


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm (default 2 / Frobenius) over ``dim``; its gradient at 0 is 0, as in PyTorch."""
    from .unary import abs as _abs, sqrt
    if p in ("fro", 2, 2.0):
        sq = sum(x * x, dim, keepdim=True)
        r = sqrt(where(sq._data == 0, 1.0, sq))
        out = where(sq._data == 0, 0.0, r)
    elif p in (float("inf"), "inf"):
        out = amax(_abs(x), dim, keepdim=True)
    elif p == 1:
        out = sum(_abs(x), dim, keepdim=True)
    elif p == 0:
        return sum((x != 0).float(), dim, keepdim=keepdim)
    else:
        out = sum(_abs(x) ** p, dim, keepdim=True) ** (1.0 / p)
    if keepdim:
        return out
    axes = norm_dim(dim, x._data.ndim, "norm")
    return reshape(out, tuple(s for i, s in enumerate(x._data.shape) if i not in axes))


def softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    if x._data.dtype.kind != "f":
        x = x._cast(_dt.get_default_dtype())
    d = _softmax_dim(x, dim, "softmax")
    return Softmax.apply(x, dim=d)


def log_softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    if x._data.dtype.kind != "f":
        x = x._cast(_dt.get_default_dtype())
    d = _softmax_dim(x, dim, "log_softmax")
    return LogSoftmax.apply(x, dim=d)


def _softmax_dim(x, dim, op):
    if dim is None:          # PyTorch's legacy implicit choice
        dim = 0 if x._data.ndim in (0, 1, 3) else 1
    return norm_axis(dim, x._data.ndim, op)


def cumsum(x, dim, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    return Cumsum.apply(x, dim=norm_axis(dim, x._data.ndim, "cumsum"))


def all(x, dim=None, keepdim=False):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "all")
    return wrap(np.asarray(np.all(x._data, axis=axes, keepdims=keepdim)))


def any(x, dim=None, keepdim=False):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "any")
    return wrap(np.asarray(np.any(x._data, axis=axes, keepdims=keepdim)))


def count_nonzero(x, dim=None):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "count_nonzero")
    return wrap(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))
