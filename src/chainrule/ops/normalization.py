"""Normalisation layers' math, fused into one node: layer_norm, batch_norm, group_norm.

All three are the same computation over different axes A (the ones the statistics are taken over):

    μ = mean_A x,   σ² = mean_A (x - μ)²   (biased),   r = 1/√(σ² + ε),   x̂ = (x - μ) r,   y = x̂ w + b

and the textbook backward (N = number of elements in A, ĝ = g w):

    dL/dx = r (ĝ - mean_A ĝ - x̂ mean_A(ĝ x̂)),   dL/dw = Σ g x̂,   dL/db = Σ g   (summed to w's / b's shape)

``layer_norm``: A = the trailing ``normalized_shape`` dims.  ``batch_norm``: A = every dim but the channel
dim 1.  ``group_norm``: x viewed as (N, G, C/G, *) and A = (2, 3).  The weight is passed in already shaped
to broadcast against x (a differentiable reshape), so one node covers all three.

BatchNorm in eval mode normalises with the running statistics: those are constants, so the same node with
``fixed=True`` has the simpler backward dL/dx = ĝ r.
"""
import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._util import sum_to_array
from .reduce import mean
from .shape import sum_to

__all__ = ["layer_norm", "batch_norm", "group_norm", "rms_norm"]


class Normalize(Op):
    """y = (x - μ_A) / √(σ²_A + ε) · w + b   (w, b broadcast against x, or None)"""
    __slots__ = ("axes", "eps", "xhat", "rstd", "fixed", "stats", "product")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, w, b, axes, eps, stats=None, fixed=False):
        if stats is None:
            mu = _mean(x, axes)
            xc = x - mu
            var = _mean_of_product(xc, xc, axes)
        else:                                        # batch_norm computed them (it needs them for running stats)
            mu, var = stats
            xc = x - mu
        rstd = 1.0 / np.sqrt(var + eps)
        xhat = xc
        xhat *= rstd                                 # in place: xc is ours
        ctx.axes, ctx.eps, ctx.xhat, ctx.rstd, ctx.fixed = axes, eps, xhat, rstd, fixed
        ctx.stats = stats if fixed else None         # eval batch norm: constants; otherwise x's own statistics
        ctx.product = None                           # (g, g x̂): dw's product, reused by dx for the same g
        if w is not None:
            y = xhat * w
            if b is not None:
                y += b
        elif b is not None:
            y = xhat + b
        else:
            y = xhat.copy()                          # never hand out the array backward relies on
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        gw = NormalizeWeightGrad.apply(x, g, norm=ctx, shape=w.shape) if nw else None
        gx = NormalizeGrad.apply(x, w, g, norm=ctx) if nx else None
        gb = sum_to(g, b.shape) if nb else None
        return gx, gw, gb


class NormalizeGrad(Op):
    """dx = r (ĝ - mean_A ĝ - x̂ mean_A(ĝ x̂)),  ĝ = g w   (eval batch norm, statistics fixed: dx = r ĝ)

    dx = B ĝ with B = r (I - 11ᵀ/N - x̂x̂ᵀ/N) symmetric, so for an upstream h (Bh = B applied to h):
        d/dg = w Bh,   d/dw = Σ g Bh,   d/dx = -r (x̂ mean_A(h dx) + mean_A(h x̂) dx + mean_A(ĝ x̂) Bh)
    (the last from dr/dx = -r² x̂ / N and dx̂/dx = r (I - 11ᵀ/N - x̂x̂ᵀ/N); fixed statistics: d/dx = 0)."""
    __slots__ = ("norm",)
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, x, w, g, norm):
        ctx.norm = norm
        axes, xhat, rstd = norm.axes, norm.xhat, norm.rstd
        if not g.flags.c_contiguous:
            g = np.ascontiguousarray(g)
        product, norm.product = norm.product, None
        k = _trailing(g, axes)
        if k and not norm.fixed and (w is None or w.shape == g.shape[g.ndim - k:]):
            p = product[1] if product is not None and product[0] is g else g * xhat
            return _rows_backward(g, xhat, rstd, w, k, p)
        gh = g * w if w is not None else g
        if norm.fixed:
            gx = gh * rstd
        else:
            gx = gh - _mean(gh, axes)
            gx -= xhat * _mean_of_product(gh, xhat, axes)
            gx *= rstd
        return gx.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, h):
        x, w, g = ctx.saved_tensors
        nx, nw, ng = ctx.needs_input_grad
        norm = ctx.norm
        axes = norm.axes
        xhat, rstd = _standardize(x, norm)
        if norm.fixed:
            bh = h * rstd
        else:
            bh = rstd * (h - mean(h, axes, keepdim=True) - xhat * mean(h * xhat, axes, keepdim=True))
        dx = dw = dg = None
        if nx and not norm.fixed:
            gh = g * w if w is not None else g
            gx = ctx.output
            dx = -rstd * (xhat * mean(h * gx, axes, keepdim=True) + mean(h * xhat, axes, keepdim=True) * gx
                          + mean(gh * xhat, axes, keepdim=True) * bh)
        if nw:
            dw = sum_to(g * bh, w.shape)
        if ng:
            dg = bh * w if w is not None else bh
        return dx, dw, dg


class NormalizeWeightGrad(Op):
    """dw = Σ g x̂ (summed to w's shape);   d/dg = h x̂,   d/dx = Normalize's dx for the upstream g h"""
    __slots__ = ("norm",)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, g, norm, shape):
        ctx.norm = norm
        xhat = norm.xhat
        if g.flags.c_contiguous and _trailing(g, norm.axes) and tuple(shape) == xhat.shape[xhat.ndim - len(shape):]:
            n = int(np.prod(shape))
            p = g * xhat
            norm.product = (g, p)                    # dx (computed next, same g) needs this product too
            return (np.ones(p.size // max(n, 1), p.dtype) @ p.reshape(-1, n)).reshape(shape)
        return sum_to_array(g * xhat, shape)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad
        norm = ctx.norm
        dx = NormalizeGrad.apply(x, None, g * h, norm=norm) if nx else None
        dg = h * _standardize(x, norm)[0] if ng else None
        return dx, dg


def _standardize(x, norm):
    """(x̂, r) as functions of x with differentiable ops (fixed statistics: constants)."""
    if norm.fixed:
        mu, var = norm.stats
        rstd = 1.0 / np.sqrt(var + norm.eps)
        return (x - mu) * rstd, rstd
    xc = x - mean(x, norm.axes, keepdim=True)
    rstd = (mean(xc * xc, norm.axes, keepdim=True) + norm.eps) ** -0.5
    return xc * rstd, rstd


def _rows_backward(gd, xhat, rstd, w, k, p):
    """dx when the statistics are over the trailing k dims and w (if any) has exactly those dims
    (LayerNorm): x viewed as rows of length n, every reduction a BLAS matrix-vector product.

        P = g x̂ (given),   m = (g w)/n,   m2 = (P w)/n   (row means of ĝ and ĝ x̂),   dx = r (g w - m) - (r m2) x̂

    P's buffer is reused (it is this call's, or dw's which is done with it)."""
    shape = gd.shape
    n = int(np.prod(shape[len(shape) - k:]))
    g2, x2, r, p = gd.reshape(-1, n), xhat.reshape(-1, n), rstd.reshape(-1, 1), p.reshape(-1, n)
    dt = gd.dtype
    wv = np.full(n, 1.0, dt) if w is None else w.reshape(n).astype(dt, copy=False)
    m = (g2 @ wv) * (1.0 / n)
    m2 = (p @ wv) * (1.0 / n)
    gx = g2 * wv if w is not None else g2.copy()
    gx -= m[:, None]
    gx *= r
    np.multiply(x2, m2[:, None] * r, out=p)
    gx -= p
    return gx.reshape(shape)


def _trailing(a, axes):
    """k when ``axes`` are the last k axes of the C-contiguous array ``a`` (rows of a 2-D view), else 0."""
    k = len(axes)
    if a.flags.c_contiguous and axes == tuple(range(a.ndim - k, a.ndim)):
        return k
    return 0


def _mean(a, axes):
    """mean over ``axes`` (keepdims). Over trailing axes as a matrix-vector product: BLAS does it in one
    pass, several times faster than NumPy's row-by-row reduction for LayerNorm-sized rows."""
    k = _trailing(a, axes)
    if k:
        rows = a.reshape(-1, int(np.prod(a.shape[a.ndim - k:])))
        m = rows @ np.full(rows.shape[1], 1.0 / max(rows.shape[1], 1), a.dtype)
        return m.reshape(a.shape[:a.ndim - k] + (1,) * k)
    return a.mean(axis=axes, keepdims=True)


def _mean_of_product(a, b, axes):
    """mean(a * b) over ``axes`` (keepdims), without materialising a * b for trailing axes."""
    k = _trailing(a, axes) if b.flags.c_contiguous else 0
    if k:
        n = int(np.prod(a.shape[a.ndim - k:]))
        m = np.einsum("ij,ij->i", a.reshape(-1, n), b.reshape(-1, n)) * (1.0 / max(n, 1))
        return m.astype(a.dtype, copy=False).reshape(a.shape[:a.ndim - k] + (1,) * k)
    return np.mean(a * b, axis=axes, keepdims=True)


def _float_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a chainrule Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {x.dtype}. Fix: call .float() first")


def _param(p, x, op, name, shape):
    """A weight/bias argument: None, or a Tensor of ``shape`` in x's dtype."""
    if p is None:
        return None
    if not isinstance(p, Tensor):
        p = tensor(p, dtype=x.dtype)
    if tuple(p.shape) != tuple(shape):
        raise ShapeError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(p.shape)}")
    if p._data.dtype != x._data.dtype:
        p = p._cast(x.dtype)
    return p


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims ``normalized_shape``, then scale by ``weight`` and shift by ``bias``
    (both of shape ``normalized_shape``)."""
    x = input
    _float_input(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x._data.ndim < k or tuple(x._data.shape[-k:]) != shape:
        raise ShapeError(f"layer_norm: given normalized_shape={list(shape)}, expected an input of shape "
                         f"[*, {', '.join(map(str, shape))}], got {tuple(x.shape)}. Fix: normalized_shape must "
                         f"equal the input's trailing dims")
    if weight is not None and weight._data.dtype != x._data.dtype:
        x = x._cast(weight.dtype)                    # as Linear: the layer's dtype wins
    w = _param(weight, x, "layer_norm", "weight", shape)
    b = _param(bias, x, "layer_norm", "bias", shape)
    axes = tuple(range(x._data.ndim - k, x._data.ndim))
    return Normalize.apply(x, w, b, axes=axes, eps=float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / √(mean(x²) + ε) · w over the trailing dims (composed from differentiable ops)."""
    x = input
    _float_input(x, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x._data.ndim < k or tuple(x._data.shape[-k:]) != shape:
        raise ShapeError(f"rms_norm: given normalized_shape={list(shape)}, expected an input of shape "
                         f"[*, {', '.join(map(str, shape))}], got {tuple(x.shape)}")
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    axes = tuple(range(-k, 0))
    y = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    return y * _param(weight, x, "rms_norm", "weight", shape) if weight is not None else y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dim 1) of an (N, C, *) input over the batch and spatial dims.

    ``training=True``: with the batch's statistics; the running ones (if given) are updated in place,
    ``running = (1 - momentum) running + momentum batch_stat``, with the *unbiased* batch variance, as
    PyTorch. ``training=False``: with ``running_mean`` / ``running_var``."""
    x = input
    _float_input(x, "batch_norm")
    if x._data.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of shape (N, C) or (N, C, *), got {tuple(x.shape)}")
    c = x._data.shape[1]
    if weight is not None and weight._data.dtype != x._data.dtype:
        x = x._cast(weight.dtype)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} should contain {c} elements (one per channel of the input "
                             f"of shape {tuple(x.shape)}, channels at dim 1), got shape {tuple(t.shape)}")
    bshape = (c,) + (1,) * (x._data.ndim - 2)        # per-channel values, broadcast against (N, C, *)
    w = weight.reshape(bshape) if weight is not None else None
    b = bias.reshape(bshape) if bias is not None else None
    axes = (0,) + tuple(range(2, x._data.ndim))
    xd = x._data
    if training:
        n = xd.size // c if c else 0
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of "
                             f"shape {tuple(x.shape)}. Fix: use a batch size > 1 (or eval mode)")
        mu = xd.mean(axis=axes, keepdims=True)
        xc = xd - mu
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        if running_mean is not None or running_var is not None:
            with no_grad():
                m = 0.0 if momentum is None else float(momentum)
                if running_mean is not None:
                    rm = running_mean._data
                    rm *= 1 - m
                    rm += (m * mu.reshape(c)).astype(rm.dtype, copy=False)
                    running_mean._vc[0] += 1
                if running_var is not None:
                    rv = running_var._data
                    rv *= 1 - m
                    rv += (m * var.reshape(c) * (n / (n - 1))).astype(rv.dtype, copy=False)
                    running_var._vc[0] += 1
        return Normalize.apply(x, w, b, axes=axes, eps=float(eps), stats=(mu, var))
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var must be given when training=False")
    mu = running_mean._data.astype(xd.dtype, copy=False).reshape(bshape)
    var = running_var._data.astype(xd.dtype, copy=False).reshape(bshape)
    return Normalize.apply(x, w, b, axes=axes, eps=float(eps), stats=(mu, var), fixed=True)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of an (N, C, *) input into ``num_groups`` groups and normalise each group of
    each sample; then a per-channel scale and shift."""
    x = input
    _float_input(x, "group_norm")
    if x._data.ndim < 2:
        raise ShapeError(f"group_norm: expected an input of shape (N, C, *), got {tuple(x.shape)}")
    n, c = x._data.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(f"group_norm: the number of channels ({c}, dim 1 of the input of shape "
                         f"{tuple(x.shape)}) must be divisible by num_groups={num_groups}")
    if weight is not None and weight._data.dtype != x._data.dtype:
        x = x._cast(weight.dtype)
    w = _param(weight, x, "group_norm", "weight", (c,))
    b = _param(bias, x, "group_norm", "bias", (c,))
    g = num_groups
    # (N, C, *) viewed as (N, G, C/G, S): statistics over the last two axes, the weight as (G, C/G, 1)
    xg = x.reshape(n, g, c // g, -1)
    wg = w.reshape(g, c // g, 1) if w is not None else None
    bg = b.reshape(g, c // g, 1) if b is not None else None
    y = Normalize.apply(xg, wg, bg, axes=(2, 3), eps=float(eps))
    return y.reshape(x.shape)
