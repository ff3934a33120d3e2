"""Reductions (sum, mean, var, prod, max/min, logsumexp, norm) and softmax / log_softmax.

A reduction's backward spreads the gradient back over the reduced dims: evenly (sum), weighted by the
partial derivatives (prod, softmax), or onto the winning elements (max/min).
"""
import builtins as _b
import functools
import math

import numpy as np

from .. import _parallel
from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor, _make
from ._util import data_of, dtype_of, norm_axis, norm_dim, shape_of, xp_of, wrap
from .arithmetic import maximum, minimum, scale_by, where
from .shape import expand, flip, movedim, reshape
from .unary import abs as _abs, exp, log, sqrt


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
        return (scale_by(g, ctx.share.astype(dtype_of(g), copy=False)),)


class Prod(Op):
    """y = Π x over ``axis`` (None: every element);   dL/dx_i = g Π_{j≠i} x_j

    Π_{j≠i} x_j is y / x_i where x_i ≠ 0 (as PyTorch); at a zero x_i that is 0/0, so the product of the rest
    of x_i's slice is taken explicitly (``_prod_of_others``). One text for both carriers: under
    ``create_graph`` y stays in the graph, so second derivatives (d(Π_{j≠i} x_j)/dx_k, non-zero even at
    zeros) come out right."""
    __slots__ = ("axis", "keepdim")
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.axis, ctx.keepdim = axis, keepdim
        if axis is None:
            return x.prod()
        return x.prod(axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        shape = shape_of(x)
        if len(shape) == 0:                                # y = x
            return (g,)
        keep = (1,) * len(shape) if ctx.axis is None else _keep_shape(shape, (ctx.axis,))
        g = expand(reshape(g, keep), shape)
        if data_of(x).size == 0:
            return (g,)
        return (g * _prod_of_others(x, reshape(ctx.output, keep), ctx.axis),)


def _prod_of_others(x, y, axis):
    """Π_{j≠i} x_j along ``axis`` (None: over everything), written with differentiable ops.

    Where x_i ≠ 0 it is y / x_i (y = Π x, kept in the graph, so its derivative w.r.t. a zero x_k is
    right). At a zero x_i that is 0/0: there the product of the rest of x_i's slice is taken explicitly,
    one slice per zero (rows gathered, x_i replaced by 1, multiplied out, scattered back)."""
    a = data_of(x)
    zero = a == 0
    others = y / where(zero, 1.0, x)                   # x_i replaced by 1 where 0: no 0/0 (and no NaN grads)
    if not zero.any():
        return others
    moved = x if axis is None else movedim(x, axis, -1)
    n = a.size if axis is None else a.shape[axis]
    xm = reshape(moved, (-1, n))                       # one slice per row
    zm = (zero.reshape(-1) if axis is None else np.moveaxis(zero, axis, -1)).reshape(-1, n)
    r, c = np.nonzero(zm)                              # row and position of every zero
    rows = Gather.apply(xm, index=np.repeat(r[:, None], n, axis=1), dim=0)
    onehot = np.zeros(shape_of(rows), bool)
    onehot[np.arange(r.size), c] = True
    at_zeros = prod(where(onehot, 1.0, rows), -1)      # Π of the rest of each zero's slice
    full = reshape(ScatterAdd.apply(at_zeros, shape=(a.size,), index=r * n + c, dim=0),
                   shape_of(moved))
    if axis is not None:
        full = movedim(full, -1, axis)
    return where(zero, full, others)


class Gather(Op):
    """y = x[..., index, ...] along ``dim`` (take_along_dim);   dL/dx = g scattered back (added) to index"""
    __slots__ = ("in_shape", "dim", "index")

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.in_shape, ctx.dim, ctx.index = x.shape, dim, index
        if index.ndim != x.ndim or _b.any(i != dim and s > n for i, (s, n) in enumerate(zip(index.shape, x.shape))):
            raise IndexError("the index must have the input's number of dims and be no larger in the others")
        if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):     # NumPy would wrap -1
            raise IndexError(f"index values must be in [0, {x.shape[dim]}), got [{index.min()}, {index.max()}]")
        # out has the index's shape (take_along_axis would broadcast a smaller index over the other dims)
        x = x[tuple(slice(None) if i == dim else slice(0, s) for i, s in enumerate(index.shape))]
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (ScatterAdd.apply(g, shape=ctx.in_shape, index=ctx.index, dim=ctx.dim),)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        return ShapeError(f"gather: index of shape {params['index'].shape} does not fit input of shape "
                          f"{tuple(inputs[0].shape)} along dim {params['dim']} ({exc}). Fix: the index needs the "
                          f"input's number of dims, no larger sizes in the other dims, and values in "
                          f"[0, size of dim)")


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


# ---------------------------------------------------------------------- softmax kernels (raw arrays)
def rowsum(a):
    """Σ over the last axis, keepdims. A GEMV with a ones vector: several times faster than NumPy's
    ``sum(-1)`` when the rows are short (softmax / attention rows), and exact enough (BLAS accumulation)."""
    if a.flags.c_contiguous and a.ndim >= 1 and a.size and a.dtype.kind == "f":
        n = a.shape[-1]
        return (a.reshape(-1, n) @ np.ones(n, a.dtype)).reshape(a.shape[:-1] + (1,))
    return a.sum(axis=-1, keepdims=True)


def _sum_keep(a, dim):
    """Σ over ``dim`` with keepdims, on a raw array (the GEMV when ``dim`` is the last axis)."""
    return rowsum(a) if dim == a.ndim - 1 else a.sum(axis=dim, keepdims=True)


# Scores below this bound can be exponentiated without the usual max-shift: exp(x) and a row's sum stay
# finite, and a row whose sum is at least exp(-bound) has its largest terms in the normal range.
_EXP_BOUND = {np.dtype(np.float32): 60.0, np.dtype(np.float64): 600.0}


def softmax_rows(s, safe, own=True):
    """softmax(s) over the last axis (reuses s when ``own``). ``safe``: a row whose keys are all masked
    (-inf) gives zeros (as PyTorch's scaled_dot_product_attention); otherwise it gives NaN (as
    ``torch.softmax``).

    The textbook form shifts each row by its max first. NumPy's max over short rows costs more than the
    exp itself, so when the global max shows that nothing can overflow, the rows are exponentiated as
    they are, and only rows whose sum comes out tiny (every score very negative, or every key masked)
    take the shifted path. Same result up to rounding."""
    bound = _EXP_BOUND.get(s.dtype)
    if bound is not None and s.size and s.max() < bound:      # False for NaN / +inf: shifted path
        e = _parallel.transcendental(np.exp, s)
        z = rowsum(e)
        low = z[..., 0] < math.exp(-bound)
        if low.any():
            e[low] = _softmax_shifted_(s[low], safe)
            z[low] = 1
        e /= z
        return e
    return _softmax_shifted_(s if own else s.copy(), safe)


def _softmax_shifted_(s, safe):
    """s <- softmax(s) over the last axis, in place, each row shifted by its max first."""
    m = s.max(axis=-1, keepdims=True)
    dead = m == -np.inf
    if not dead.any():
        dead = None
    elif safe:
        m[dead] = 0
    if dead is not None and not safe:
        with np.errstate(invalid="ignore"):          # dead rows: -inf - -inf = NaN, as PyTorch
            s -= m
    else:
        s -= m
    _parallel.transcendental(np.exp, s, out=s)
    z = rowsum(s)
    if dead is not None and safe:
        z[dead] = 1                                  # all-zero row: 0 / 1 = 0
    s /= z
    return s


def _last_axis_rows(x, dim):
    """True when the softmax runs over the last axis of a C-contiguous float array (rows + GEMV sums)."""
    return dim == x.ndim - 1 and x.flags.c_contiguous and x.dtype in _EXP_BOUND


class LogSoftmax(Op):
    """y = x - logsumexp(x);   dL/dx = g - softmax(x) Σ g   (LogSoftmaxGrad)"""
    __slots__ = ("dim",)
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.size == 0:                  # nothing to normalise (and NumPy's max of nothing raises)
            return x.copy()
        xp = xp_of(x)
        if xp is np and _last_axis_rows(x, dim):
            y = x - x.max(axis=dim, keepdims=True)
            y -= np.log(rowsum(np.exp(y)))
            return y
        shifted = x - x.max(axis=dim, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        return (LogSoftmaxGrad.apply(ctx.output, g, dim=ctx.dim),)


class LogSoftmaxGrad(Op):
    """dx = g - e^y Σ g  (y = log_softmax(x));   d/dg: h - Σ(h e^y),   d/dy: -h e^y Σ g"""
    __slots__ = ("dim",)
    save_inputs = True

    @staticmethod
    def forward(ctx, y, g, dim):
        ctx.dim = dim
        if y.size == 0:
            return g.copy()
        p = np.exp(y, out=np.empty(np.broadcast_shapes(g.shape, y.shape), np.result_type(g, y)))
        p *= _sum_keep(g, dim)
        np.subtract(g, p, out=p)
        return p

    @staticmethod
    def backward(ctx, h):
        y, g = ctx.saved_tensors
        ny, ng = ctx.needs_input_grad
        p = exp(y)
        dy = -(h * p) * sum(g, ctx.dim, keepdim=True) if ny else None
        dg = h - sum(h * p, ctx.dim, keepdim=True) if ng else None
        return dy, dg


class Softmax(Op):
    """y = e^x / Σ e^x;   dL/dx = y (g - Σ g y)   (SoftmaxGrad)"""
    __slots__ = ("dim",)
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.size == 0:
            return x.copy()
        if xp_of(x) is np and _last_axis_rows(x, dim):
            return softmax_rows(x, safe=False, own=False)
        e = xp_of(x).exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, g):
        return (SoftmaxGrad.apply(ctx.output, g, dim=ctx.dim),)


class SoftmaxGrad(Op):
    """dx = y (g - Σ g y)  (y = softmax(x));   d/dg: the same map applied to h,   d/dy: h (g - Σ g y) - g Σ h y"""
    __slots__ = ("dim",)
    save_inputs = True

    @staticmethod
    def forward(ctx, y, g, dim):
        ctx.dim = dim
        t = np.multiply(g, y, out=np.empty(np.broadcast_shapes(g.shape, y.shape), np.result_type(g, y)))
        if t.size == 0:
            return t
        s = _sum_keep(t, dim)
        np.subtract(g, s, out=t)                     # three passes and one buffer: t = (g - Σ g y) y
        t *= y
        return t

    @staticmethod
    def backward(ctx, h):
        y, g = ctx.saved_tensors
        ny, ng = ctx.needs_input_grad
        dim = ctx.dim
        dy = h * (g - sum(g * y, dim, keepdim=True)) - g * sum(h * y, dim, keepdim=True) if ny else None
        dg = SoftmaxGrad.apply(y, h, dim=dim) if ng else None
        return dy, dg


class Cumsum(Op):
    """y_i = Σ_{j<=i} x_j along dim;   dL/dx_i = Σ_{j>=i} g_j (a reversed cumsum)"""
    __slots__ = ("dim",)

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (flip(cumsum(flip(g, ctx.dim), ctx.dim), ctx.dim),)


# ---------------------------------------------------------------------- public functions
def _either_carrier(fn):
    """Let a public reduction take a raw NumPy array too (the carrier of a backward rule at first order,
    see ``Op``) and give arrays back; Tensors go through unchanged. Results are computed by the same code."""
    @functools.wraps(fn)
    def reduction(x, *args, **kwargs):
        if type(x) is not np.ndarray and not isinstance(x, np.generic):    # a NumPy scalar: a 0-d result
            return fn(x, *args, **kwargs)
        out = fn(_make(np.asarray(x)), *args, **kwargs)
        if isinstance(out, tuple):
            return tuple([o._data for o in out])
        return out._data
    return reduction


def _axes(dim, ndim, op):
    """``dim`` (None, int or tuple) -> sorted tuple of axes to reduce. As in PyTorch, None and an empty
    tuple mean every dim, and a 0-d tensor accepts dim 0 / -1 (it has no axis to reduce)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    axes = norm_dim(dim, ndim, op)
    return axes if ndim else ()


def _one_dim(dim, ndim, op):
    """A single ``dim`` (an int) -> a non-negative axis; a tuple gets a clear error instead of a TypeError."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}(): dim must be a single int, got {dim!r}. Fix: reduce one dim at a time "
                        f"(e.g. x.{op}(0).{op}(0)) or flatten the dims first")
    return norm_axis(dim, ndim, op)


def _reduce_dtype(x):
    """Sums of bool/int tensors are int64, as in PyTorch."""
    kind = x._data.dtype.kind
    if kind == "f":
        return x                        # the common case, without the dtype comparisons below (~0.5 us)
    if kind in "bu" or x._data.dtype in (np.int8, np.int16, np.int32):
        return x._cast(_dt.int64)
    return x


@_either_carrier
def sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    return Sum.apply(x, axes=_axes(dim, x._data.ndim, "sum"), keepdim=keepdim)


@_either_carrier
def mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, got "
                           f"{x.dtype}. Fix: call .float() first or pass dtype=chainrule.float32")
    axes = _axes(dim, x._data.ndim, "mean")
    n = int(np.prod([x._data.shape[a] for a in axes]))
    out = Sum.apply(x, axes=axes, keepdim=keepdim) * (1.0 / n if n else float("nan"))
    if out.grad_fn is not None:
        out.grad_fn._name = "MeanBackward0"            # PyTorch's name for the node (tutorials print it)
    return out


@_either_carrier
def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Σ (x - mean)² / (N - correction); ``unbiased=True`` (default) means correction=1."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"var/std: only floating point inputs are supported, got {x.dtype}. "
                           f"Fix: call .float() first")
    axes = _axes(dim, x._data.ndim, "var")
    n = int(np.prod([x._data.shape[a] for a in axes]))
    centred = x - mean(x, axes, keepdim=True)
    denom = _b.max(n - correction, 0)
    return sum(centred * centred, axes, keepdim=keepdim) * (1.0 / denom if denom else float("inf"))


@_either_carrier
def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return sqrt(var(x, dim, unbiased, keepdim, correction))


@_either_carrier
def var_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


@_either_carrier
def std_mean(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return std(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


@_either_carrier
def prod(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    axis = None if dim is None else _one_dim(dim, x._data.ndim, "prod")
    if axis is not None and x._data.ndim == 0:          # a 0-d tensor: dim 0 / -1 reduce nothing
        axis = None
    return Prod.apply(x, axis=axis, keepdim=keepdim)


def _check_nonempty(x, axes, op):
    if x._data.size == 0 and (not axes or _b.any(x._data.shape[a] == 0 for a in axes)):
        raise IndexError(f"{op}(): expected a non-empty tensor along the reduced dims, got shape "
                         f"{tuple(x.shape)} reduced over dims {axes}; the max/min of nothing is undefined. "
                         f"Fix: check the size first, or reduce over a dim that is not empty")


@_either_carrier
def amax(x, dim=None, keepdim=False):
    axes = _axes(dim, x._data.ndim, "amax")
    _check_nonempty(x, axes, "amax")
    return Amax.apply(x, axes=axes, keepdim=keepdim, largest=True)


@_either_carrier
def amin(x, dim=None, keepdim=False):
    axes = _axes(dim, x._data.ndim, "amin")
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
        b = dim if other is None else other
        return maximum(x, b) if largest else minimum(x, b)
    if dim is None:
        return amax(x) if largest else amin(x)
    d = _one_dim(dim, x._data.ndim, name)
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


@_either_carrier
def max(x, dim=None, keepdim=False, other=None):
    """``max(x)``: the largest element; ``max(x, dim)``: (values, indices) along dim; ``max(a, b)``: elementwise."""
    return _max_min(x, dim, keepdim, other, True)


@_either_carrier
def min(x, dim=None, keepdim=False, other=None):
    return _max_min(x, dim, keepdim, other, False)


def _arg_extreme(x, dim, keepdim, largest):
    name = "argmax" if largest else "argmin"
    find = np.argmax if largest else np.argmin
    if dim is None:
        _check_nonempty(x, tuple(range(x._data.ndim)), name)
        idx = np.asarray(find(x._data), dtype=np.int64)
        return wrap(idx.reshape((1,) * x._data.ndim) if keepdim else idx)
    d = _one_dim(dim, x._data.ndim, name)
    _check_nonempty(x, (d,), name)
    if x._data.ndim == 0:
        return wrap(np.zeros((), np.int64))
    return wrap(find(x._data, axis=d, keepdims=keepdim).astype(np.int64, copy=False))


@_either_carrier
def argmax(x, dim=None, keepdim=False):
    """Index of the largest element (of the flattened tensor, or along ``dim``); the first one on ties."""
    return _arg_extreme(x, dim, keepdim, True)


@_either_carrier
def argmin(x, dim=None, keepdim=False):
    return _arg_extreme(x, dim, keepdim, False)


@_either_carrier
def gather(x, dim, index):
    d = norm_axis(dim, x._data.ndim, "gather")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    if x._data.ndim == 0 and idx.ndim == 0:           # NumPy has no axis 0 to gather along: use shape (1,)
        return reshape(Gather.apply(reshape(x, (1,)), index=idx.reshape(1), dim=0), ())
    return Gather.apply(x, index=idx, dim=d)


@_either_carrier
def take_along_dim(x, indices, dim=None):
    if dim is None:
        return gather(reshape(x, -1), 0, indices._data.reshape(-1) if isinstance(indices, Tensor) else indices)
    return gather(x, dim, indices)


@_either_carrier
def logsumexp(x, dim=None, keepdim=False):
    """log Σ e^x, computed as m + log Σ e^(x - m) with m = max x (held constant: the identity holds for any m)."""
    axes = _axes(dim, x._data.ndim, "logsumexp")
    a = x._data
    if a.size:
        m = a.max(axis=axes, keepdims=True)
    else:                                       # NumPy's max of nothing raises; any m will do
        m = np.zeros(_keep_shape(a.shape, axes), a.dtype)
    m = np.where(np.isfinite(m), m, 0)
    out = log(sum(exp(x - _make(m)), axes, keepdim=True)) + _make(m)
    return out if keepdim else reshape(out, tuple(s for i, s in enumerate(x._data.shape) if i not in axes))


@_either_carrier
def norm(x, p="fro", dim=None, keepdim=False):
    """The vector p-norm over ``dim`` (all dims by default): (Σ |x|^p)^(1/p); p = 2 / 'fro' (default), 1,
    inf (max |x|), -inf (min |x|), 0 (count of non-zeros) or any other real p.

    Gradients follow PyTorch where the formula has none: 0 at a norm of 0 (e.g. the zero vector), 0 at
    an element x_i = 0 for p < 1, and shared evenly among ties for ±inf."""
    axes = _axes(dim, x._data.ndim, "norm")
    if isinstance(p, str) and p not in ("fro", "inf", "-inf"):
        raise ValueError(f"norm: p={p!r} is not supported; use a number, 'fro', 'inf' or '-inf' "
                         f"(nuclear norms need an SVD, which chainrule does not have)")
    p = float(p) if isinstance(p, str) and p != "fro" else p
    if x._data.dtype.kind != "f":
        x = x._cast(_dt.get_default_dtype())
    if p in ("fro", 2, 2.0):
        sq = sum(x * x, axes, keepdim=True)
        dead = sq._data == 0
        out = where(dead, 0.0, sqrt(where(dead, 1.0, sq)))        # sqrt'(0) = inf: keep it out of the graph
    elif p == float("inf"):
        out = amax(_abs(x), axes, keepdim=True)
    elif p == float("-inf"):
        out = amin(_abs(x), axes, keepdim=True)
    elif p == 1:
        out = sum(_abs(x), axes, keepdim=True)
    elif p == 0:
        out = sum((x != 0)._cast(x.dtype), axes, keepdim=True)
    else:
        a = _abs(x)
        zero = a._data == 0
        ap = where(zero, 0.0, where(zero, 1.0, a) ** p)          # |x|^p, with a 0 (not 0 * inf) grad at 0
        total = sum(ap, axes, keepdim=True)
        dead = total._data == 0
        if p < 0:                                                 # a single 0 makes a negative-p norm 0
            dead = dead | np.any(zero, axis=axes, keepdims=True)
        out = where(dead, 0.0, where(dead, 1.0, total) ** (1.0 / p))
    if keepdim:
        return out
    return reshape(out, tuple(s for i, s in enumerate(x._data.shape) if i not in axes))


@_either_carrier
def softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    if x._data.dtype.kind != "f":
        x = x._cast(_dt.get_default_dtype())
    d = _softmax_dim(x, dim, "softmax")
    return Softmax.apply(x, dim=d)


@_either_carrier
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
    return _one_dim(dim, x._data.ndim, op)


@_either_carrier
def cumsum(x, dim, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    x = _reduce_dtype(x)
    d = _one_dim(dim, x._data.ndim, "cumsum")
    if x._data.ndim == 0:                     # np.cumsum would flatten a 0-d array to shape (1,)
        return reshape(Cumsum.apply(reshape(x, (1,)), dim=0), ())
    return Cumsum.apply(x, dim=d)


@_either_carrier
def all(x, dim=None, keepdim=False):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "all")
    return wrap(np.asarray(np.all(x._data, axis=axes, keepdims=keepdim)))


@_either_carrier
def any(x, dim=None, keepdim=False):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "any")
    return wrap(np.asarray(np.any(x._data, axis=axes, keepdims=keepdim)))


@_either_carrier
def count_nonzero(x, dim=None):
    axes = None if dim is None else norm_dim(dim, x._data.ndim, "count_nonzero")
    return wrap(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))
