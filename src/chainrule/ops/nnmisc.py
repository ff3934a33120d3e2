"""Assorted functional pieces of nn: dropout, embedding lookup, one_hot, normalize, cosine_similarity.

Dropout (inverted): y = x · m / (1 - p) with m ~ Bernoulli(1 - p) drawn from the global generator
(``chainrule.manual_seed``), so the expected value of y is x and eval mode is the identity.

Embedding: y = W[idx];  dL/dW = Σ over the positions holding row i of their gradients (a scatter-add),
with the ``padding_idx`` row receiving none.
"""
import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import STATE, no_grad
from ..errors import DTypeError, ShapeError
from ..random import default_generator
from ..tensor import Tensor, _make
from ._util import norm_axis

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "embedding", "one_hot", "normalize",
           "cosine_similarity"]


# ---------------------------------------------------------------------------------------------- dropout
class Dropout(Op):
    """y = x · s, s = m / (1 - p) a fixed random mask (broadcast against x);   dL/dx = g · s"""
    __slots__ = ("scale",)

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x * scale

    @staticmethod
    def backward(ctx, g):
        from .arithmetic import scale_by
        if not STATE.grad_enabled:
            return (_make((g._data * ctx.scale).astype(g._data.dtype, copy=False)),)
        return (scale_by(g, ctx.scale),)


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(x, p, shape, generator=None):
    """The scaled keep-mask m / (1 - p) of ``shape``, in x's dtype (p = 1: all zeros)."""
    dt = x._data.dtype
    if p == 1.0:
        return np.zeros(shape, dt)
    rng = (generator or default_generator())._np
    u = rng.random(shape, dtype=np.float32 if dt == np.float32 else np.float64)
    keep = u >= p                          # a bool times a scalar is ~7x faster than np.where here
    return np.multiply(keep, dt.type(1.0 / (1.0 - p)), dtype=dt)


def _dropout(x, p, training, mask_shape, op):
    _check_p(p, op)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a chainrule Tensor, got {type(x).__name__}")
    if not training or p == 0.0 or x._data.size == 0:
        return x                                      # as PyTorch: the input itself
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {x.dtype}. Fix: call .float() first")
    return Dropout.apply(x, scale=_dropout_mask(x, p, mask_shape, None))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity when not training)."""
    out = _dropout(input, p, training, getattr(input, "shape", ()), "dropout")
    return _inplace_result(input, out) if inplace else out


def _channel_dropout(input, p, training, inplace, spatial, op):
    """Zero whole channels: one draw per (N, C) (or per C for an unbatched (C, *) input)."""
    x = input
    nd = x.ndim
    if nd not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected a {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input, "
                         f"got shape {tuple(x.shape)}")
    lead = 1 if nd == spatial + 1 else 2
    mask_shape = tuple(x.shape[:lead]) + (1,) * spatial
    out = _dropout(x, p, training, mask_shape, op)
    return _inplace_result(input, out) if inplace else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    if input.ndim == 2:                             # PyTorch (deprecated): a warning, then element-wise dropout
        import warnings
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
                      "with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", UserWarning, stacklevel=2)
        return dropout(input, p, training, inplace)
    if input.ndim == 3:                             # PyTorch's legacy behaviour: (N, C, L) -> 1-D channel dropout
        import warnings
        warnings.warn("dropout2d: received a 3D input; as PyTorch, it is taken as (N, C, L) and whole (n, c) "
                      "rows are dropped (1-D channel dropout). Use dropout1d for that explicitly.", stacklevel=2)
        return _channel_dropout(input, p, training, inplace, 1, "dropout2d")
    return _channel_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 3, "dropout3d")


def _inplace_result(x, out):
    if out is x:
        return x
    from .inplace import copy_
    return copy_(x, out)


# -------------------------------------------------------------------------------------------- embedding
class Embedding(Op):
    """y = W[idx];   dL/dW = scatter-add of g into W's rows (nothing into ``padding_idx``), optionally
    each row's gradient divided by how often it occurs in idx (``scale_grad_by_freq``)"""
    __slots__ = ("idx", "num", "padding_idx", "freq")

    @staticmethod
    def forward(ctx, w, idx, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.num, ctx.padding_idx = idx, w.shape[0], padding_idx
        ctx.freq = None
        if scale_grad_by_freq:
            counts = np.bincount(idx.reshape(-1), minlength=w.shape[0])
            ctx.freq = (1.0 / counts[idx]).astype(w.dtype)[..., None]
        return w[idx]

    @staticmethod
    def backward(ctx, g):
        if ctx.freq is not None:
            from .arithmetic import scale_by
            g = scale_by(g, ctx.freq)
        return (EmbeddingBackward.apply(g, idx=ctx.idx, num=ctx.num, padding_idx=ctx.padding_idx),)


class EmbeddingBackward(Op):
    """dW = zeros(num, D); dW[idx] += g; dW[padding_idx] = 0   (linear in g: its own backward is a lookup)"""
    __slots__ = ("idx", "padding_idx")

    @staticmethod
    def forward(ctx, g, idx, num, padding_idx):
        ctx.idx, ctx.padding_idx = idx, padding_idx
        out = _scatter_add_rows(idx.reshape(-1), g.reshape((idx.size,) + g.shape[idx.ndim:]), num)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        out = Embedding.apply(gg, idx=ctx.idx, padding_idx=None, scale_grad_by_freq=False)
        if ctx.padding_idx is not None:
            from .arithmetic import scale_by
            keep = (ctx.idx != ctx.padding_idx).astype(gg._data.dtype)[..., None]
            out = scale_by(out, keep)
        return (out,)


def _scatter_add_rows(idx, rows, num):
    """out = zeros((num,) + rows.shape[1:]); out[idx[i]] += rows[i] for every i (repeats accumulate).

    ``np.add.at`` does this one row at a time (slow for wide rows). Instead: sort the indices, rank each
    occurrence within its run of equal indices, and add all k-th occurrences at once - within one rank
    the indices are distinct, so a plain fancy-indexed ``+=`` is exact. Only very frequent indices (rank
    past ``_RANKS``) fall back to ``np.add.at``, on just those rows."""
    out = np.zeros((num,) + rows.shape[1:], rows.dtype)
    n = idx.size
    if n == 0:
        return out
    order = np.argsort(idx, kind="stable")
    s_idx = idx[order]
    start = np.empty(n, bool)
    start[0] = True
    np.not_equal(s_idx[1:], s_idx[:-1], out=start[1:])
    if start.all():                                   # all distinct: one scatter
        out[idx] = rows
        return out
    starts = np.flatnonzero(start)
    rank = np.arange(n) - starts[np.cumsum(start) - 1]
    s_rows = rows[order]
    for r in range(min(int(rank.max()), _RANKS) + 1):
        sel = rank == r
        out[s_idx[sel]] += s_rows[sel]
    rest = rank > _RANKS
    if rest.any():
        np.add.at(out, s_idx[rest], s_rows[rest])
    return out


_RANKS = 16


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer indices ``input`` (any
    shape): output shape ``input.shape + (embedding_dim,)``."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported in chainrule; use sparse=False")
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be an integer tensor (int64 or int32), got "
                         f"{idx.dtype} of shape {idx.shape}. Fix: pass input.long()")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}")
    num = weight.shape[0]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: index {bad} is out of range for a weight with num_embeddings={num} "
                             f"rows (valid indices: 0..{num - 1}); input of shape {idx.shape}")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx={padding_idx} must be within num_embeddings={num}")
        padding_idx = padding_idx % num
    if max_norm is not None:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(weight, idx=idx.astype(np.intp, copy=False), padding_idx=padding_idx,
                           scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_rows(weight, idx, max_norm, norm_type):
    """In place, as PyTorch's embedding_renorm_: the looked-up rows whose norm exceeds ``max_norm`` are
    scaled to norm max_norm / (norm + 1e-7) · norm (no gradient recorded)."""
    with no_grad():
        rows = np.unique(idx.reshape(-1))
        w = weight._data
        sub = w[rows]
        norms = np.linalg.norm(sub, ord=norm_type, axis=1) if norm_type != 2 else np.sqrt((sub * sub).sum(1))
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] = sub[big] * scale[:, None]
            weight._vc[0] += 1


# ----------------------------------------------------------------------------------------------- misc
def one_hot(tensor, num_classes=-1):
    """Integer class indices of any shape -> int64 one-hot of shape ``tensor.shape + (num_classes,)``
    (num_classes=-1: max value + 1)."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: class values must be an integer tensor (int64), got {idx.dtype}. "
                         f"Fix: pass tensor.long()")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and int(idx.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if idx.size and int(idx.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                           f"got {int(idx.max())}")
    out = np.zeros(idx.shape + (num_classes,), np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return _make(out)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(‖x‖_p, eps) along ``dim`` (so a zero vector stays zero instead of becoming nan)."""
    from .arithmetic import clamp
    from .reduce import norm
    d = norm_axis(dim, input.ndim, "normalize")
    denom = clamp(norm(input, p, d, keepdim=True), min=eps)
    return input / denom


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ (x1/‖x1‖)(x2/‖x2‖) along ``dim``, each norm clamped below at ``eps``.

    As PyTorch, the clamp changes the norm's value only - it is not part of the graph - so the gradient
    is that of x1·x2 / (‖x1‖ ‖x2‖) with the clamped norms plugged in."""
    from .reduce import norm
    from .shape import broadcast_tensors
    from ._util import operands
    x1, x2 = operands(x1, x2)
    if x1._data.dtype.kind != "f":
        x1, x2 = x1.float(), x2.float()
    try:
        x1, x2 = broadcast_tensors(x1, x2)
    except (ValueError, RuntimeError):
        raise ShapeError(f"cosine_similarity: the inputs' shapes {tuple(x1.shape)} and {tuple(x2.shape)} "
                         f"cannot be broadcast together") from None
    d = norm_axis(dim, x1.ndim, "cosine_similarity")

    def clamped_norm(x):
        n = norm(x, 2, d, keepdim=True)
        lift = np.maximum(n._data, eps) - n._data     # a constant: value clamped, gradient untouched
        return n + _make(lift.astype(n._data.dtype, copy=False))

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(d)
