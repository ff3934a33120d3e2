"""Attention, as ``torch.nn.functional``: scaled_dot_product_attention and multi_head_attention_forward.

    S = scale · Q Kᵀ + M        M: an additive mask (a bool mask becomes 0 where allowed, -inf where not)
    P = softmax(S) over the keys, then dropout (the attention weights)
    O = P V

One fused node computes P from (Q, K, M) - the batched matmul, scale, mask, softmax and dropout - and
its backward is the softmax Jacobian applied row by row, pushed through the matmul:

    Ĝ = G ⊙ keep                 (keep = dropout's mask / (1 - p); all ones without dropout)
    dL/dS = P̂ ⊙ (Ĝ - Σ_keys Ĝ ⊙ P̂)          P̂ = the softmax before dropout
    dL/dQ = scale · dS K,   dL/dK = scale · dSᵀ Q,   dL/dM = dS (summed to M's shape)

O = P V is an ordinary batched matmul node, so P doubles as the weights that
``MultiheadAttention(need_weights=True)`` returns - and they are differentiable, as in PyTorch.

Multi-head attention projects the inputs (three GEMMs over all tokens), views them as (N, H, L, hd)
without copying, runs the two nodes above once for every (batch, head) at the same time (NumPy's
batched matmul), and projects the heads back. No Python loop over heads or batch.
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make
from ._util import dropout_keep_mask
from .linalg import matmul
from .linear import linear
from .reduce import SoftmaxGrad, rowsum as _rowsum, softmax_rows as _softmax_rows, sum as reduce_sum
from .shape import cat, mT, pad, sum_to

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


# ------------------------------------------------------------------------------------------ the fused node
class AttentionWeights(Op):
    """P = dropout(softmax(scale · Q Kᵀ + M)) over the last axis (the keys)."""
    __slots__ = ("scale", "keep", "probs", "safe")
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, q, k, mask, scale, keep, safe):
        s = np.matmul(q, np.swapaxes(k, -1, -2))
        if scale != 1.0:
            s *= scale
        if mask is not None:
            if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
                s += mask
            else:
                s = s + mask
        s = _softmax_rows(s, safe)
        ctx.scale, ctx.keep, ctx.safe, ctx.probs = scale, keep, safe, s     # probs: P̂, before dropout
        return s if keep is None else s * keep

    @staticmethod
    def backward(ctx, g):
        q, k, m = ctx.saved_tensors
        nq, nk, nm = ctx.needs_input_grad
        if ctx.keep is None:
            ctx.output                               # P̂ is the output: check it was not changed in place
        ds = AttentionScoresGrad.apply(q, k, m, g, weights=ctx)
        scale = ctx.scale
        gq = sum_to(matmul(ds, k) * scale, q.shape) if nq else None
        gk = sum_to(matmul(mT(ds), q) * scale, k.shape) if nk else None
        gm = sum_to(ds, m.shape) if nm else None
        return gq, gk, gm


class AttentionScoresGrad(Op):
    """dL/dS = P̂ ⊙ (Ĝ - Σ_keys Ĝ ⊙ P̂),  Ĝ = G ⊙ keep: the gradient at the scores S = scale · Q Kᵀ + M.

    Its forward reuses the P̂ that the forward pass kept; its backward (second order) recomputes P̂ as a
    recorded node. With J = diag(P̂) - P̂P̂ᵀ (symmetric) and an upstream H:
        d/dG = keep ⊙ J H,   d/dP̂ = H ⊙ (Ĝ - Σ Ĝ P̂) - Ĝ Σ H P̂,  pushed through softmax and the matmul."""
    __slots__ = ("weights",)
    save_inputs = True

    @staticmethod
    def forward(ctx, q, k, m, g, weights):
        ctx.weights = weights
        p, keep = weights.probs, weights.keep
        gd = g * keep if keep is not None else g
        ds = gd * p
        ds -= p * _rowsum(ds)
        return ds

    @staticmethod
    def backward(ctx, h):
        q, k, m, g = ctx.saved_tensors
        nq, nk, nm, ng = ctx.needs_input_grad
        w = ctx.weights
        keep, scale = w.keep, w.scale
        p = AttentionWeights.apply(q, k, m, scale=scale, keep=None, safe=w.safe)
        gd = g * keep if keep is not None else g
        dg = None
        if ng:
            dg = SoftmaxGrad.apply(p, h, dim=-1)
            if keep is not None:
                dg = dg * keep
        gq = gk = gm = None
        if nq or nk or nm:
            dp = h * (gd - reduce_sum(gd * p, -1, keepdim=True)) - gd * reduce_sum(h * p, -1, keepdim=True)
            ds = SoftmaxGrad.apply(p, dp, dim=-1)
            gq = sum_to(matmul(ds, k) * scale, q.shape) if nq else None
            gk = sum_to(matmul(mT(ds), q) * scale, k.shape) if nk else None
            gm = sum_to(ds, m.shape) if nm else None
        return gq, gk, gm, dg


def _attention_weights(q, k, mask, scale, dropout_p, safe):
    """The fused node, with the dropout mask drawn here (from the global generator)."""
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(q._data.shape[:-1] + (k._data.shape[-2],),
                                    k._data.shape[:-2] + (1, 1), mask._data.shape if mask is not None else ())
        keep = dropout_keep_mask(shape, dropout_p, q._data.dtype)
    return AttentionWeights.apply(q, k, mask, scale=float(scale), keep=keep, safe=safe)


# ------------------------------------------------------------------------------------------------- masks
def _as_tensor(x, what, op):
    if x is None or isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _make(x)
    raise TypeError(f"{op}: {what} must be a chainrule Tensor, got {type(x).__name__}")


def _additive(mask, dtype, masked_is_true, op, name):
    """A mask -> a float Tensor to add to the scores. Bool: -inf where the position may not be attended
    (``masked_is_true``: True marks those, MultiheadAttention's convention; else True marks the allowed
    ones, scaled_dot_product_attention's). Float: used as it is (cast to ``dtype``, differentiable)."""
    if mask is None:
        return None
    kind = mask._data.dtype.kind
    if kind == "b":
        block = mask._data if masked_is_true else ~mask._data
        return _make(np.where(block, np.asarray(-np.inf, dtype), np.zeros((), dtype)))
    if kind != "f":
        raise DTypeError(f"{op}: only bool and floating types of {name} are supported, got {mask.dtype}. "
                         f"Fix: pass a bool mask or an additive float mask")
    return mask._cast(_dt.from_numpy_dtype(np.dtype(dtype))) if mask._data.dtype != dtype else mask


def _causal_mask(L, S, dtype):
    """-inf above the diagonal (query i attends to keys j <= i), top-left aligned as PyTorch's."""
    return _make(np.triu(np.full((L, S), -np.inf, dtype), 1))


# --------------------------------------------------------------------------- scaled_dot_product_attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(Q Kᵀ · scale + M) V over the last two dims (batch dims broadcast), as PyTorch.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). ``attn_mask``: bool (True =
    the position takes part) or float (added to the scores), broadcastable to (..., L, S). ``is_causal``:
    query i sees keys j <= i. ``scale`` defaults to 1/√E. Dropout is applied whenever dropout_p > 0."""
    op = "scaled_dot_product_attention"
    q, k, v = (_as_tensor(t, n, op) for t, n in ((query, "query"), (key, "key"), (value, "value")))
    if q is None or k is None or v is None:
        raise TypeError(f"{op}: query, key and value are required Tensors")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"{op}: expected query, key and value to be at least 2-dimensional, got shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)} and {tuple(v.shape)}")
    if not (q._data.dtype == k._data.dtype == v._data.dtype) or q._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected query, key and value to have the same floating dtype, got "
                         f"{q.dtype}, {k.dtype} and {v.dtype}. Fix: convert them with .to(dtype)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        k, v = _repeat_kv(q, k, v, op)
    L, E, S = q.shape[-2], q.shape[-1], k.shape[-2]
    if k.shape[-1] != E:
        raise ShapeError(f"{op}: query (..., L, E) and key (..., S, E) must have the same embedding size E, got "
                         f"query {tuple(q.shape)} and key {tuple(k.shape)}")
    if v.shape[-2] != S:
        raise ShapeError(f"{op}: key (..., S, E) and value (..., S, Ev) must have the same sequence length S, "
                         f"got key {tuple(k.shape)} and value {tuple(v.shape)}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of query {tuple(q.shape)}, key {tuple(k.shape)} and value "
                         f"{tuple(v.shape)} (all but the last two) cannot be broadcast together") from None
    attn_mask = _as_tensor(attn_mask, "attn_mask", op)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: an explicit attn_mask should not be set when is_causal=True (the causal "
                             f"mask is built from the shapes); pass one or the other")
        mask = _causal_mask(L, S, q._data.dtype)
    else:
        mask = _additive(attn_mask, q._data.dtype, False, op, "attn_mask")
    if mask is not None:
        target = tuple(batch) + (L, S)
        try:
            ok = np.broadcast_shapes(mask.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ShapeError(f"{op}: attn_mask of shape {tuple(mask.shape)} must broadcast to the attention "
                             f"weights' shape {target} (..., L, S)")
    s = 1.0 / math.sqrt(E) if scale is None else float(scale)
    p = _attention_weights(q, k, mask, s, float(dropout_p), safe=True)
    return matmul(p, v)


def _repeat_kv(q, k, v, op):
    """Grouped-query attention: each key/value head serves ``Hq / Hkv`` consecutive query heads."""
    hq, hk = q.shape[-3], k.shape[-3]
    if hq % hk or v.shape[-3] != hk:
        raise ShapeError(f"{op}: with enable_gqa the number of query heads ({hq}) must be a multiple of the "
                         f"key/value heads ({hk} and {v.shape[-3]})")
    rep = hq // hk

    def spread(t):
        shape = tuple(t.shape)
        t = t.unsqueeze(-3).expand(*shape[:-2], rep, *shape[-2:])
        return t.reshape(*shape[:-3], hq, *shape[-2:])
    return spread(k), spread(v)


# ----------------------------------------------------------------------------- multi_head_attention_forward
def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False, batch_first=False):
    """Multi-head attention as ``torch.nn.functional.multi_head_attention_forward`` (same arguments and
    results). Inputs are (L, N, E) - or (N, L, E) with the chainrule extension ``batch_first=True``,
    which saves the transposes - or unbatched (L, E). Returns (output, weights or None); the weights are
    (N, L, S) averaged over the heads, or (N, H, L, S)."""
    op = "MultiheadAttention"
    if static_k is not None or static_v is not None:
        raise NotImplementedError(f"{op}: static_k / static_v are not supported")
    query, key, value = (_as_tensor(t, n, op) for t, n in ((query, "query"), (key, "key"), (value, "value")))
    key_padding_mask = _as_tensor(key_padding_mask, "key_padding_mask", op)
    attn_mask = _as_tensor(attn_mask, "attn_mask", op)
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads, op)
    if not batched:                                  # (L, E) -> (L, 1, E)
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
        batch_first = False
    if batch_first:
        bsz, tgt_len, embed_dim = query.shape
        src_len = key.shape[1]
    else:
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"{op}: was expecting embedding dimension of {embed_dim_to_check}, but got a query of "
                         f"shape {tuple(query.shape)} (embedding dimension {embed_dim})")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise ShapeError(f"{op}: key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                             f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise ShapeError(f"{op}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if query._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point query, got {query.dtype}")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{op}: need attn_mask if specifying the is_causal hint. You may use "
                           f"Transformer.generate_square_subsequent_mask to create this mask.")

    # input projections: three GEMMs over all tokens (slices of in_proj_weight are views)
    E = embed_dim
    if use_separate_proj_weight:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]
    else:
        bq = bk = bv = None
    for name, x, w in (("key", key, wk), ("value", value, wv)):
        if x.shape[-1] != w.shape[-1]:
            raise ShapeError(f"{op}: {name} of shape {tuple(x.shape)} has feature size {x.shape[-1]}, but the "
                             f"layer expects {w.shape[-1]} ({'kdim' if name == 'key' else 'vdim'})")
    q = _project(query, wq, bq)
    k = _project(key, wk, bk)
    v = _project(value, wv, bv)

    # masks -> additive float Tensors (in the projections' dtype)
    dtype = q._data.dtype
    kpm = _additive(key_padding_mask, dtype, True, op, "key_padding_mask")
    if kpm is not None and tuple(kpm.shape) != (bsz, src_len):
        raise ShapeError(f"{op}: expecting key_padding_mask of shape {(bsz, src_len)} (N, S), but got "
                         f"{tuple(kpm.shape)}")
    if is_causal and kpm is None and not need_weights:
        am = _causal_mask(tgt_len, src_len, dtype)   # as PyTorch: the hint replaces the mask on this path
    else:
        am = _additive(attn_mask, dtype, True, op, "attn_mask")
    if am is not None:
        if am.ndim == 2:
            if tuple(am.shape) != (tgt_len, src_len):
                raise ShapeError(f"{op}: the shape of the 2D attn_mask is {tuple(am.shape)}, but should be "
                                 f"{(tgt_len, src_len)} (L, S)")
        elif tuple(am.shape) != (bsz * num_heads, tgt_len, src_len):
            raise ShapeError(f"{op}: the shape of the 3D attn_mask is {tuple(am.shape)}, but should be "
                             f"{(bsz * num_heads, tgt_len, src_len)} (N * num_heads, L, S)")
        else:
            am = am.reshape(bsz, num_heads, tgt_len, src_len)

    if bias_k is not None:                           # one learned extra key/value position
        if bias_v is None:
            raise ValueError(f"{op}: bias_k and bias_v must be given together")
        k = _append_position(k, bias_k.reshape(1, 1, E), batch_first)
        v = _append_position(v, bias_v.reshape(1, 1, E), batch_first)
        am = _pad_last(am)
        kpm = _pad_last(kpm)
    if add_zero_attn:                                # one all-zero extra key/value position
        k = _append_position(k, None, batch_first)
        v = _append_position(v, None, batch_first)
        am = _pad_last(am)
        kpm = _pad_last(kpm)
    src_len = k.shape[1] if batch_first else k.shape[0]

    # heads: (L, N, E) or (N, L, E) -> (N, H, L, hd), views
    qh, kh, vh = (_split_heads(t, num_heads, head_dim, batch_first) for t in (q, k, v))
    mask = am
    if kpm is not None:
        kpm = kpm.reshape(bsz, 1, 1, src_len)
        mask = kpm if mask is None else mask + kpm
    p_drop = dropout_p if training else 0.0
    p = _attention_weights(qh, kh, mask, 1.0 / math.sqrt(head_dim), float(p_drop), safe=not need_weights)
    o = matmul(p, vh)                                                  # (N, H, L, hd)
    o = o.permute(0, 2, 1, 3) if batch_first else o.permute(2, 0, 1, 3)
    lead = tuple(o.shape[:2])
    out = linear(o.reshape(lead[0] * lead[1], E), out_proj_weight, out_proj_bias).reshape(*lead, E)
    weights = None
    if need_weights:
        weights = p.mean(1) if average_attn_weights else p
        if not batched:
            weights = weights.squeeze(0)
    if not batched:
        out = out.squeeze(1)
    return out, weights


def _project(x, w, b):
    """y = x Wᵀ + b over every token: one 2-D GEMM (a contiguous (L, N, E) input is viewed as (L·N, E))."""
    if x._data.dtype != w._data.dtype:
        x = x._cast(w.dtype)
    lead = tuple(x.shape[:-1])
    if x._data.flags.c_contiguous:
        return linear(x.reshape(-1, x.shape[-1]), w, b).reshape(*lead, w.shape[0])
    return linear(x, w, b)


def _split_heads(x, num_heads, head_dim, batch_first):
    if batch_first:
        n, length = x.shape[0], x.shape[1]
        return x.reshape(n, length, num_heads, head_dim).permute(0, 2, 1, 3)
    length, n = x.shape[0], x.shape[1]
    return x.reshape(length, n, num_heads, head_dim).permute(1, 2, 0, 3)


def _append_position(x, row, batch_first):
    """Append one position along the sequence dim: ``row`` (1, 1, E) repeated over the batch, or zeros."""
    seq_dim = 1 if batch_first else 0
    n = x.shape[0] if batch_first else x.shape[1]
    shape = (n, 1, x.shape[-1]) if batch_first else (1, n, x.shape[-1])
    extra = row.expand(*shape) if row is not None else _make(np.zeros(shape, x._data.dtype))
    return cat([x, extra], seq_dim)


def _pad_last(mask):
    """One more key position that everyone may attend: a zero column on the mask."""
    if mask is None:
        return None
    return pad(mask, (0, 1))


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads, op):
    """Batched (3-D) or unbatched (2-D) inputs, and masks of matching rank; clear errors otherwise."""
    qd = query.ndim
    if qd == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise ShapeError(f"{op}: for a batched (3-D) query, key and value must be 3-D too, got key "
                             f"{tuple(key.shape)} and value {tuple(value.shape)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise ShapeError(f"{op}: for batched (3-D) inputs, key_padding_mask must be 2-D (N, S), got shape "
                             f"{tuple(key_padding_mask.shape)}")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise ShapeError(f"{op}: for batched (3-D) inputs, attn_mask must be 2-D (L, S) or 3-D "
                             f"(N * num_heads, L, S), got shape {tuple(attn_mask.shape)}")
        return True
    if qd == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise ShapeError(f"{op}: for an unbatched (2-D) query, key and value must be 2-D too, got key "
                             f"{tuple(key.shape)} and value {tuple(value.shape)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise ShapeError(f"{op}: for unbatched (2-D) inputs, key_padding_mask must be 1-D (S,), got shape "
                             f"{tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise ShapeError(f"{op}: for unbatched (2-D) inputs, attn_mask must be 2-D (L, S) or 3-D "
                                 f"(num_heads, L, S), got shape {tuple(attn_mask.shape)}")
            if attn_mask.ndim == 3 and attn_mask.shape[0] != num_heads:
                raise ShapeError(f"{op}: for unbatched (2-D) inputs, a 3-D attn_mask must be (num_heads={num_heads}"
                                 f", L, S), got shape {tuple(attn_mask.shape)}")
        return False
    raise ShapeError(f"{op}: query should be unbatched 2-D (L, E) or batched 3-D ((L, N, E), or (N, L, E) with "
                     f"batch_first=True), got a {qd}-D tensor of shape {tuple(query.shape)}")
