"""Cross-entropy from logits, fused: one node whose backward is the textbook ``softmax - onehot``.

    loss_n = -w_{t_n} log softmax(x_n)_{t_n}            (class-index targets)
    dloss_n/dx_n = w_{t_n} (softmax(x_n) - onehot(t_n))

computed with a log-sum-exp shift, so logits of ±1e4 give a finite loss and gradient. Label smoothing
mixes in ε/C of the uniform target; ``ignore_index`` targets contribute nothing; ``weight`` rescales
classes and (for 'mean') the denominator is the sum of the targets' weights, as in PyTorch.
"""
import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make

__all__ = ["cross_entropy", "nll_loss"]


def _log_softmax_rows(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CrossEntropy(Op):
    """loss = reduce_n( w_n [(1-ε) (-log p_{n,t_n}) + ε/C Σ_c weight_c (-log p_{n,c})] )"""
    __slots__ = ("target", "valid", "w_n", "weight", "eps", "reduction", "denom", "probs")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing):
        n, c = x.shape
        logp = _log_softmax_rows(x)
        valid = target != ignore_index
        t = np.where(valid, target, 0)
        w_n = (weight[t] if weight is not None else np.ones(n, x.dtype)) * valid
        nll = -logp[np.arange(n), t] * w_n
        eps = label_smoothing
        if eps:
            cw = weight if weight is not None else np.ones(c, x.dtype)
            smooth = -(logp * cw).sum(axis=1) * valid
            per = (1 - eps) * nll + (eps / c) * smooth
        else:
            per = nll
        ctx.target, ctx.valid, ctx.w_n, ctx.weight, ctx.eps, ctx.reduction = t, valid, w_n, weight, eps, reduction
        ctx.probs = np.exp(logp)                     # kept for the raw-array backward
        if reduction == "none":
            return per.astype(x.dtype, copy=False)
        total = per.sum()
        if reduction == "sum":
            ctx.denom = 1.0
            return np.asarray(total, dtype=x.dtype)
        ctx.denom = w_n.sum()
        return np.asarray(total / ctx.denom, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        n, c = x._data.shape
        if ctx.reduction == "none":
            g_n = g.reshape(n, 1)
        else:
            g_n = g / ctx.denom if ctx.reduction == "mean" else g
        eps = ctx.eps
        cw = ctx.weight if ctx.weight is not None else None
        if not STATE.grad_enabled:                   # raw-array fast path: no graph being recorded
            p = ctx.probs
            gx = p * ctx.w_n[:, None]
            gx[np.arange(n), ctx.target] -= ctx.w_n
            if eps:
                w_sum = cw.sum() if cw is not None else c
                cw_row = cw[None, :] if cw is not None else 1.0
                valid = ctx.valid
                gx = (1 - eps) * gx + (eps / c) * (p * w_sum - cw_row) * valid[:, None]
            gx = gx.astype(x._data.dtype, copy=False)
            return (g_n * _make(gx), None, None)
        # differentiable path (create_graph=True): the same formula with Tensor ops on the saved input
        from .reduce import softmax
        p = softmax(x, 1)
        onehot = np.zeros((n, c), x._data.dtype)
        onehot[np.arange(n), ctx.target] = 1
        gx = (p - _make(onehot)) * _make(ctx.w_n[:, None])
        if eps:
            w_sum = float(cw.sum()) if cw is not None else float(c)
            cw_row = _make(cw[None, :]) if cw is not None else 1.0
            valid = _make(ctx.valid[:, None].astype(x._data.dtype))
            gx = (1 - eps) * gx + (eps / c) * (p * w_sum - cw_row) * valid
        return (g_n * gx, None, None)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C) or (N, C, d1, ...) and ``target``: class indices of
    shape (N,) / (N, d1, ...), or class probabilities of the input's shape."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = input
    if x.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    if not isinstance(target, Tensor):
        from ..creation import tensor
        target = tensor(target)
    if target._data.dtype.kind == "f":                       # probabilities (soft targets)
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


def _soft_cross_entropy(x, target, weight, reduction, label_smoothing):
    from .reduce import log_softmax
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
    from .reduce import gather
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x = input
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
    w_n = (w[safe] * valid).astype(x._data.dtype)
    per = -picked * _make(w_n)
    if reduction == "none":
        return per if input.ndim > 1 else per.reshape(())
    if reduction == "sum":
        return per.sum()
    return per.sum() / float(w_n.sum())


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")
