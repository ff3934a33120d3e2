"""Embedding: y = W[idx];  dL/dW = Σ over the positions holding row i of their gradients (a scatter-add),
with the ``padding_idx`` row receiving none.
"""
import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import no_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._util import dtype_of
from .arithmetic import scale_by

__all__ = ["embedding"]


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
            keep = (ctx.idx != ctx.padding_idx).astype(dtype_of(gg))[..., None]
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
