"""Loss functions, as ``torch.nn.functional``. Cross-entropy from logits is fused: one node whose backward
is the textbook ``softmax - onehot``:

    loss_n = -w_{t_n} log softmax(x_n)_{t_n}            (class-index targets)
    dloss_n/dx_n = w_{t_n} (softmax(x_n) - onehot(t_n))

computed with a log-sum-exp shift, so logits of ±1e4 give a finite loss and gradient. Label smoothing
mixes in ε/C of the uniform target; ``ignore_index`` targets contribute nothing; ``weight`` rescales
classes and (for 'mean') the denominator is the sum of the targets' weights, as in PyTorch.

Binary cross-entropy from logits is fused the same way, in the stable form (softplus(-x) = -log σ(x)
computed as log1p(e^-|x|) + max(-x, 0), never exp of a large number):

    loss = (1 - y) x + l softplus(-x),   l = 1 + (pos_weight - 1) y,   dloss/dx = σ(x) l - pos_weight y

The regression losses (mse, l1, smooth_l1, huber), kl_div and the margin losses are short compositions
of differentiable ops, so their second derivatives come for free.
"""
import warnings

import numpy as np

from ..autograd.function import Op
from ..creation import tensor
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make
from ._util import operands, sigmoid_array
from .arithmetic import clamp, where
from .reduce import Softmax, SoftmaxGrad, gather, log_softmax, rowsum, sum as reduce_sum
from .shape import broadcast_tensors
from .unary import abs as _abs, exp, log, log1p, relu, sigmoid

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
           "margin_ranking_loss"]


class CrossEntropy(Op):
    """loss = reduce_n( w_n [(1-ε) (-log p_{n,t_n}) + ε/C Σ_c weight_c (-log p_{n,c})] )

    Forward in three passes over the logits (shift by the row max, exp, scale to p) with row sums as
    GEMVs; log p is never materialised: -log p_{n,t} = log z_n - s_{n,t} (s the shifted logits, z the row
    sums of e^s) and Σ_c weight_c log p_{n,c} = s_n·weight - log z_n Σ weight."""
    __slots__ = ("probs", "k")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing):
        n, c = x.shape
        s = x - x.max(axis=1, keepdims=True)         # shifted logits: exp never overflows
        p = np.exp(s)
        z = rowsum(p)                                # (n, 1)
        p /= z
        log_z = np.log(z[:, 0])
        valid = target != ignore_index
        t = np.where(valid, target, 0)
        w_n = (weight[t] if weight is not None else np.ones(n, x.dtype)) * valid
        rows = np.arange(n)
        nll = (log_z - s[rows, t]) * w_n
        eps = label_smoothing
        if eps:
            cw = weight if weight is not None else np.ones(c, x.dtype)
            smooth = (log_z * cw.sum() - s @ cw) * valid
            per = (1 - eps) * nll + (eps / c) * smooth
        else:
            per = nll
        if reduction == "none":
            denom = None
            out = per.astype(x.dtype, copy=False)
        else:
            denom = w_n.sum() if reduction == "mean" else 1.0
            out = np.asarray(per.sum() / denom, dtype=x.dtype)
        ctx.probs = p                                # kept for the backward kernel
        ctx.k = (t, valid, w_n, weight, eps, reduction, denom)
        return out

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return (CrossEntropyGrad.apply(x, g, probs=ctx.probs, k=ctx.k), None, None)


class CrossEntropyGrad(Op):
    """dx = g_n [p a_n - (1-ε) w_n onehot(t_n) - ε/C valid_n weight]   (p = softmax(x) over the classes,
    a_n = (1-ε) w_n + ε/C valid_n Σ weight, g_n = the loss gradient per row: g, g/denom or g_n itself).

    Linear in g, so d/dg = Σ h dx/g_n (reduced like the loss); in x only through p, so d/dx is softmax's
    backward applied to h g_n a_n."""
    __slots__ = ("probs", "k")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, g, probs, k):
        ctx.probs, ctx.k = probs, k
        t, valid, w_n, weight, eps, reduction, denom = k
        n, c = x.shape
        gx = probs * _row_coef(k, c)[:, None]
        if eps:
            cw = weight if weight is not None else 1.0
            gx -= (eps / c) * (valid[:, None] * cw)
        gx[np.arange(n), t] -= (1 - eps) * w_n
        gx = gx.astype(x.dtype, copy=False)
        gx *= _per_row(g, reduction, denom, n)
        return gx

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad
        t, valid, w_n, weight, eps, reduction, denom = ctx.k
        n, c = x.shape
        dx = dg = None
        if nx:
            coef = _row_coef(ctx.k, c)[:, None].astype(ctx.probs.dtype)
            dx = SoftmaxGrad.apply(Softmax.apply(x, dim=1), h * _per_row(g, reduction, denom, n) * coef, dim=1)
        if ng:
            per = reduce_sum(h * CrossEntropyGrad.apply(x, np.ones((), ctx.probs.dtype), probs=ctx.probs,
                                                        k=(t, valid, w_n, weight, eps, "sum", 1.0)), 1)
            dg = per if reduction == "none" else reduce_sum(per) * (1.0 / denom)
        return dx, dg


def _row_coef(k, c):
    """a_n = (1-ε) w_n + ε/C valid_n Σ weight: the factor of p in row n of the cross-entropy gradient."""
    t, valid, w_n, weight, eps, reduction, denom = k
    a = (1 - eps) * w_n
    if eps:
        a = a + (eps / c) * (weight.sum() if weight is not None else c) * valid
    return a


def _per_row(g, reduction, denom, n):
    """The loss gradient as a factor per row: g_n (reduction 'none'), g/denom ('mean') or g ('sum')."""
    if reduction == "none":
        return g.reshape(n, 1)
    return g * (1.0 / denom) if reduction == "mean" else g


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C) or (N, C, d1, ...) and ``target``: class indices of
    shape (N,) / (N, d1, ...), or class probabilities of the input's shape."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = input
    if x.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    _check_logits(x, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if not isinstance(target, Tensor):
        target = tensor(target)
    if target._data.dtype.kind == "f":                       # probabilities (soft targets)
        index_shape = (x.shape[0],) + tuple(x.shape[2:]) if x.ndim > 1 else ()
        if tuple(target.shape) != tuple(x.shape) and tuple(target.shape) == index_shape:
            raise DTypeError(f"cross_entropy: a target of shape {tuple(target.shape)} holds class indices, which "
                             f"must be integers (int64), got {target.dtype}. Fix: target.long() (float targets "
                             f"are class probabilities, of the input's shape {tuple(x.shape)})")
        return _soft_cross_entropy(x, target, weight, reduction, label_smoothing)
    if target._data.dtype.kind not in "iu":
        raise DTypeError(f"cross_entropy: target must be class indices (int64) or probabilities (float), got "
                         f"{target.dtype}. Fix: target.long()")
    unbatched = x.ndim == 1
    if unbatched:
        x = x.unsqueeze(0)
        target = target.reshape(1)
    n, c = x.shape[0], x.shape[1]
    expected = (n,) + tuple(x.shape[2:])
    if tuple(target.shape) != expected:
        raise ShapeError(f"cross_entropy: input of shape {tuple(input.shape)} (N, C, ...) expects a target of "
                         f"shape {expected} (class indices), got {tuple(target.shape)}")
    t = target._data
    bad = ((t < 0) | (t >= c)) & (t != ignore_index)
    if bad.any():
        v = int(t[bad].reshape(-1)[0])
        raise IndexError(f"cross_entropy: target value {v} is out of range for {c} classes (valid: 0..{c - 1}"
                         f"{'' if ignore_index < 0 else ''}, or ignore_index={ignore_index})")
    if x.ndim > 2:                                            # (N, C, d...) -> (N*d..., C)
        x = x.movedim(1, -1).reshape(-1, c)
        t = t.reshape(-1)
    w = None
    if weight is not None:
        w = weight._data.astype(x._data.dtype) if isinstance(weight, Tensor) else np.asarray(weight, x._data.dtype)
        if w.shape != (c,):
            raise ShapeError(f"cross_entropy: weight must have shape ({c},) (one per class), got {w.shape}")
    out = CrossEntropy.apply(x, target=t.astype(np.int64, copy=False), weight=w, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=float(label_smoothing))
    if reduction == "none":
        out = out.reshape(expected)
        if unbatched:
            out = out.reshape(())
    return out


def _check_logits(x, op):
    """Class scores must be floating point: on integers softmax would be truncated (PyTorch raises too)."""
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be floating point (class scores), got {x.dtype} of shape "
                         f"{tuple(x.shape)}. Fix: input.float()")


def _soft_cross_entropy(x, target, weight, reduction, label_smoothing):
    if tuple(target.shape) != tuple(x.shape):
        raise ShapeError(f"cross_entropy: probability targets must have the input's shape {tuple(x.shape)}, "
                         f"got {tuple(target.shape)}")
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    dim = 1 if x.ndim > 1 else 0
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = log_softmax(x, dim)
    if weight is not None:
        shape = [1] * x.ndim
        shape[dim] = c
        logp = logp * (weight if isinstance(weight, Tensor) else Tensor(weight)).reshape(shape)
    per = -(logp * target).sum(dim)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (per.numel() if per.ndim else 1)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = input
    if not isinstance(target, Tensor):
        target = tensor(target)
    if x.ndim == 0:
        raise ShapeError("nll_loss: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    _check_logits(x, "nll_loss")
    if x.ndim == 1:
        x, target = x.unsqueeze(0), target.reshape(1)
    n, c = x.shape[0], x.shape[1]
    if target._data.dtype.kind not in "iu":
        raise DTypeError(f"nll_loss: target must be class indices (int64), got {target.dtype}. Fix: target.long()")
    expected = (n,) + tuple(x.shape[2:])
    if tuple(target.shape) != expected:
        raise ShapeError(f"nll_loss: input of shape {tuple(input.shape)} expects a target of shape {expected}, "
                         f"got {tuple(target.shape)}")
    t = target._data
    bad = ((t < 0) | (t >= c)) & (t != ignore_index)
    if bad.any():
        raise IndexError(f"nll_loss: target value {int(t[bad].reshape(-1)[0])} is out of range for {c} classes")
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = gather(x, 1, np.expand_dims(safe, 1)).squeeze(1)
    w = np.ones(c, x._data.dtype) if weight is None else (weight._data if isinstance(weight, Tensor) else np.asarray(weight))
    if w.shape != (c,):
        raise ShapeError(f"nll_loss: weight must have shape ({c},) (one per class), got {w.shape}")
    w_n = (w[safe] * valid).astype(x._data.dtype)
    per = -picked * _make(w_n)
    if reduction == "none":
        return per if input.ndim > 1 else per.reshape(())
    if reduction == "sum":
        return per.sum()
    return per.sum() / float(w_n.sum())


def _legacy_reduction(size_average, reduce, reduction):
    """The reduction, from PyTorch's deprecated bool flags when either is given (which then override
    ``reduction``, as in PyTorch, with its deprecation warning): reduce=False -> 'none', else
    size_average=False -> 'sum', else 'mean'."""
    if size_average is None and reduce is None:
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        return reduction
    for name, flag in (("size_average", size_average), ("reduce", reduce)):
        if isinstance(flag, str):        # reduce='sum' would be truthy, i.e. the mean: never what was meant
            raise TypeError(f"{name}={flag!r}: {name} is PyTorch's deprecated bool flag (reduce=False: no "
                            f"reduction; size_average=False: sum). Fix: pass reduction={flag!r} instead")
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' instead.",
                  stacklevel=3)
    return legacy


# ------------------------------------------------------------------------------------ shared checks
def _reduce(per, reduction, op):
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if reduction == "mean":
        return per.mean()
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _as_loss_tensor(t, like, op, name="target"):
    if isinstance(t, Tensor):
        return t
    return tensor(t, dtype=like.dtype)


def _pointwise_pair(input, target, op):
    """input and target of a regression loss: floating, broadcast together (with PyTorch's warning when
    their sizes differ), one dtype."""
    target = _as_loss_tensor(target, input, op)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{op}: using a target size ({tuple(target.shape)}) that is different to the input size "
                      f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", stacklevel=3)
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(f"{op}: the input of shape {tuple(input.shape)} and the target of shape "
                             f"{tuple(target.shape)} cannot be broadcast together; they should have the "
                             f"same shape") from None
    x, y = operands(input, target)
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected floating point input and target, got {input.dtype} and "
                         f"{target.dtype}. Fix: call .float() on them")
    if tuple(x.shape) != tuple(y.shape):
        x, y = broadcast_tensors(x, y)
    return x, y


def _elementwise_weight(weight, x, op):
    if weight is None:
        return None
    w = _as_loss_tensor(weight, x, op, "weight")
    if tuple(w.shape) != tuple(x.shape):
        raise ValueError(f"{op}: weights and input must have the same size: weight {tuple(w.shape)}, "
                         f"input {tuple(x.shape)}")
    return w


def _weighted(per, w, reduction, op, normalise_by_weight):
    """Apply per-element weights; 'mean' divides by Σw (mse/l1) or by the count (huber), as PyTorch."""
    if w is None:
        return _reduce(per, reduction, op)
    per = per * w
    if reduction == "mean" and normalise_by_weight:
        return per.sum() / w.sum()
    return _reduce(per, reduction, op)


# ------------------------------------------------------------------------------------ regression losses
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x - y)² per element, reduced (weighted 'mean' = Σ w (x-y)² / Σ w)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x, y = _pointwise_pair(input, target, "mse_loss")
    d = x - y
    return _weighted(d * d, _elementwise_weight(weight, x, "mse_loss"), reduction, "mse_loss", True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|x - y| per element, reduced (weighted 'mean' = Σ w |x-y| / Σ w)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x, y = _pointwise_pair(input, target, "l1_loss")
    return _weighted(_abs(x - y), _elementwise_weight(weight, x, "l1_loss"), reduction, "l1_loss", True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta  (d = x - y; beta = 0 is the L1 loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, y = _pointwise_pair(input, target, "smooth_l1_loss")
    d = x - y
    a = _abs(d)
    if beta == 0:
        return _reduce(a, reduction, "smooth_l1_loss")
    per = where(a._data < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    return _reduce(per, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d² where |d| < delta, else delta (|d| - 0.5 delta)  (d = x - y)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, y = _pointwise_pair(input, target, "huber_loss")
    d = x - y
    a = _abs(d)
    per = where(a._data < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _weighted(per, _elementwise_weight(weight, x, "huber_loss"), reduction, "huber_loss", False)


# ------------------------------------------------------------------------------------ binary cross-entropy
def _bce_pair(input, target, op, same_shape_msg):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a chainrule Tensor, got {type(input).__name__}")
    target = _as_loss_tensor(target, input, op)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(same_shape_msg.format(t=tuple(target.shape), i=tuple(input.shape)))
    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected floating point input and target (probabilities), got "
                         f"{input.dtype} and {target.dtype}. Fix: target.float()")
    if target._data.dtype != input._data.dtype:
        target = target._cast(input.dtype)
    return input, target


def _constant_weight(w, x, op, name):
    """A class/element weight broadcast against x, as a constant array (PyTorch: not differentiable)."""
    if w is None:
        return None
    if isinstance(w, Tensor):
        if w._requires_grad:
            raise RuntimeError(f"{op}: the function is not differentiable with respect to argument '{name}'; "
                               f"this input cannot have requires_grad=True (pass {name}.detach())")
        w = w._data
    w = np.asarray(w, dtype=x._data.dtype)
    try:
        if np.broadcast_shapes(w.shape, x._data.shape) != x._data.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"{op}: {name} of shape {w.shape} cannot be broadcast to the input's shape "
                         f"{tuple(x.shape)}") from None
    return w


# PyTorch keeps this epsilon as a C++ float, so its value is float32(1e-12); the same here, so the
# gradient at x = 0 or 1 (where the clamp decides it) equals PyTorch's to the last bit
_BCE_EPS = float(np.float32(1e-12))


class BinaryCrossEntropy(Op):
    """loss = -w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)]  (x probabilities)
    dloss/dx = w (x - y) / max(x (1 - x), ε),   dloss/dy = w (log(1 - x) - log x)   (as PyTorch)"""
    __slots__ = ("w",)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y, w):
        ctx.w = w
        with np.errstate(divide="ignore"):           # log 0 = -inf, then clamped
            logx = np.maximum(np.log(x), -100.0)
            log1mx = np.maximum(np.log1p(-x), -100.0)
        per = -(y * logx + (1 - y) * log1mx)
        if w is not None:
            per *= w
        return per

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = BinaryCrossEntropyGrad.apply(x, y, g, w=ctx.w) if nx else None
        gw = g * _make(ctx.w) if ctx.w is not None else g
        gy = gw * (log1p(-x) - log(x)) if ny else None
        return gx, gy


class BinaryCrossEntropyGrad(Op):
    """dx = w g (x - y) / D,  D = max(x (1 - x), ε)
    d/dg = w h (x - y) / D,   d/dy = -w g h / D,   d/dx = w g h (1/D - (x - y) D' / D²),  D' = 1 - 2x where
    x (1 - x) > ε (else 0: the clamp holds D constant)"""
    __slots__ = ("w",)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y, g, w):
        ctx.w = w
        gd = g * w if w is not None else g
        return gd * (x - y) / np.maximum(x * (1 - x), _BCE_EPS)

    @staticmethod
    def backward(ctx, h):
        x, y, g = ctx.saved_tensors
        nx, ny, ng = ctx.needs_input_grad
        hw = h * _make(ctx.w) if ctx.w is not None else h
        v = x * (1 - x)
        d = clamp(v, min=_BCE_EPS)
        dx = dy = dg = None
        if nx:
            d_prime = where(v > _BCE_EPS, 1 - 2 * x, 0.0)
            dx = hw * g * (1 / d - (x - y) * d_prime / (d * d))
        if ny:
            dy = -(hw * g) / d
        if ng:
            dg = hw * (x - y) / d
        return dx, dy, dg


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x in [0, 1] (each log clamped at -100, so x = 0
    or 1 gives a finite loss, as PyTorch). For logits use ``binary_cross_entropy_with_logits``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    op = "binary_cross_entropy"
    x, y = _bce_pair(input, target, op, "binary_cross_entropy: using a target size {t} that is different "
                                        "to the input size {i} is not supported; they must have the same shape")
    xd = x._data
    if xd.size and (xd.min() < 0 or xd.max() > 1):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1 (got values in "
                           f"[{xd.min():.4g}, {xd.max():.4g}]). Did you mean binary_cross_entropy_with_logits, "
                           f"which takes logits?")
    w = _constant_weight(weight, x, op, "weight")
    return _reduce(BinaryCrossEntropy.apply(x, y, w=w), reduction, op)


class BinaryCrossEntropyWithLogits(Op):
    """loss = w [(1 - y) x + l softplus(-x)],  l = 1 + (pw - 1) y
    dloss/dx = w (σ(x) l - pw y),   dloss/dy = w (pw softplus(-x) - softplus(x))"""
    __slots__ = ("w", "pw")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y, w, pw):
        ctx.w, ctx.pw = w, pw
        sp_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)      # softplus(-x) = -log σ(x), stable
        if pw is None:
            per = (1 - y) * x + sp_neg
        else:
            per = (1 - y) * x + (1 + (pw - 1) * y) * sp_neg
        if w is not None:
            per *= w
        return per

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        w, pw = ctx.w, ctx.pw
        gx = BinaryCrossEntropyWithLogitsGrad.apply(x, y, g, w=w, pw=pw) if nx else None
        gy = None
        if ny:                                       # targets that need a gradient are rare: composed ops
            gw = g * _make(w) if w is not None else g
            if pw is None:
                gy = -gw * x
            else:
                sp_neg = log1p(exp(-_abs(x))) + relu(-x)
                gy = gw * (_make(pw) * sp_neg - (sp_neg + x))
        return gx, gy


class BinaryCrossEntropyWithLogitsGrad(Op):
    """dx = w g (σ(x) l - pw y),  l = 1 + (pw - 1) y   (pw absent: dx = w g (σ(x) - y))
    d/dg = w h (σ(x) l - pw y),   d/dx = w g h l σ(x) (1 - σ(x)),   d/dy = w g h (σ(x) (pw - 1) - pw)"""
    __slots__ = ("w", "pw")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y, g, w, pw):
        ctx.w, ctx.pw = w, pw
        gd = g * w if w is not None else g
        sig = sigmoid_array(x)
        gx = gd * (sig - y if pw is None else sig * (1 + (pw - 1) * y) - pw * y)
        return gx.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, h):
        x, y, g = ctx.saved_tensors
        nx, ny, ng = ctx.needs_input_grad
        w, pw = ctx.w, ctx.pw
        hw = h * _make(w) if w is not None else h
        sig = sigmoid(x)
        l_ = 1.0 if pw is None else 1 + _make(pw - 1) * y
        dx = hw * g * l_ * sig * (1 - sig) if nx else None
        dy = (hw * g * (sig * _make(pw - 1) - _make(pw)) if pw is not None else -(hw * g)) if ny else None
        dg = hw * (sig * l_ - (_make(pw) * y if pw is not None else y)) if ng else None
        return dx, dy, dg


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits x (sigmoid and BCE in one stable step): finite for any logit.
    ``pos_weight`` (broadcast along the last dim, one per class) weighs the positive term."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    op = "binary_cross_entropy_with_logits"
    x, y = _bce_pair(input, target, op, "binary_cross_entropy_with_logits: target size {t} must be the same as "
                                        "input size {i}")
    w = _constant_weight(weight, x, op, "weight")
    pw = _constant_weight(pos_weight, x, op, "pos_weight")
    return _reduce(BinaryCrossEntropyWithLogits.apply(x, y, w=w, pw=pw), reduction, op)


# ------------------------------------------------------------------------------------ divergence, margins
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, ``input`` being log-probabilities:
    target (log target - input) (0 where target = 0), or with ``log_target`` exp(t) (t - input).
    ``reduction='batchmean'`` divides the sum by the batch size (the mathematical KL divergence)."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, "mean")
    elif reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'none', 'batchmean', 'sum' or 'mean', got {reduction!r}")
    x, t = _pointwise_pair(input, target, op)
    if log_target:
        per = exp(t) * (t - x)
    else:
        zero = t._data == 0                       # xlogy: 0 log 0 = 0, with a gradient free of 0 * inf
        per = where(zero, 0.0, t * log(where(zero, 1.0, t))) - t * x
    if reduction == "batchmean":
        total = per.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(per, reduction, op)


def _margin_target(target, like, op, expected):
    target = _as_loss_tensor(target, like, op)
    if tuple(target.shape) != tuple(expected):
        raise ShapeError(f"{op}: target must have shape {tuple(expected)} (one ±1 label per pair), got "
                         f"{tuple(target.shape)}")
    return target


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin), y = ±1 saying which input should rank higher."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    op = "margin_ranking_loss"
    target = _as_loss_tensor(target, input1, op)
    shapes = f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and target {tuple(target.shape)}"
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"{op}: {shapes} must have the same number of dimensions")
    try:
        np.broadcast_shapes(input1.shape, input2.shape, target.shape)
    except ValueError:
        raise ShapeError(f"{op}: {shapes} cannot be broadcast together") from None
    return _reduce(clamp(-target * (input1 - input2) + margin, min=0), reduction, op)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where y = 1,  max(0, cos(x1, x2) - margin) where y = -1 (cosine over the last dim
    of (N, D) or (D,) inputs; as PyTorch, cos = x1·x2 / √((|x1|² + ε)(|x2|² + ε)), ε = 1e-12)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    op = "cosine_embedding_loss"
    if tuple(input1.shape) != tuple(input2.shape) or input1.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected two inputs of the same shape, (N, D) or (D,), got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    expected = input1.shape[:1] if input1.ndim == 2 else ()
    target = _margin_target(target, input1, op, expected)
    dim = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = prod / mag.sqrt()
    t = target._data
    zero = np.zeros((), cos._data.dtype)
    per = where(t == 1, 1 - cos, zero) + where(t == -1, clamp(cos - margin, min=0), zero)
    return _reduce(per, reduction, op)
