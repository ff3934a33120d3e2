"""scaled_dot_product_attention and MultiheadAttention against PyTorch.

SDPA: values and gradients of query, key, value (and a float mask) against torch's in float64, over
batch-dim broadcasting, L != S, Ev != E, bool / float / causal masks, custom scale and grouped-query
attention; float64 gradcheck and gradgradcheck (the create_graph path) on tiny shapes, with and without
dropout. Dropout is checked by what it must do (each weight kept and scaled by 1/(1-p), or zeroed).

MultiheadAttention: weights copied from a torch module (randomised first, so the zero-bias init cannot
hide a bug) through ``load_state_dict``; output, attention weights, every parameter gradient and the
input gradients compared in float64, in train mode (dropout 0) and eval mode (dropout > 0), across
masks, batch_first, kdim/vdim, bias, add_bias_kv, add_zero_attn and unbatched inputs.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import broadcast_shapes, check_gradcheck, check_torch, needs_torch, torch

ATOL = 1e-10


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- scaled_dot_product_attention
SDPA_SHAPES = [
    ((3, 4), (5, 4), (5, 6)),                      # unbatched, L != S, Ev != E
    ((2, 3, 4), (2, 5, 4), (2, 5, 2)),
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4)),
    ((2, 1, 3, 4), (1, 3, 5, 4), (1, 3, 5, 2)),    # batch dims broadcast
]


@needs_torch
@pytest.mark.parametrize("shapes", SDPA_SHAPES)
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_torch(shapes, scale):
    arrays = [_rand(s, i) for i, s in enumerate(shapes)]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=scale),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale), arrays)


@needs_torch
@given(batch=broadcast_shapes(num_shapes=3, max_dims=3, max_side=3), dims=st.tuples(*[st.integers(1, 4)] * 4),
       masked=st.sampled_from(["none", "bool", "float", "causal"]), seed=st.integers(0, 100))
def test_sdpa_random_shapes(batch, dims, masked, seed):
    """Any broadcastable batch dims (scalars, size-1 dims, rank mismatch) and sizes L, S, E, Ev >= 1."""
    L, S, E, Ev = dims
    shapes = [batch[0] + (L, E), batch[1] + (S, E), batch[2] + (S, Ev)]
    arrays = [_rand(s, seed + i) for i, s in enumerate(shapes)]
    kw_c, kw_t = {}, {}
    if masked == "bool":
        m = _bool_mask((L, S), seed)
        kw_c, kw_t = {"attn_mask": cr.tensor(m)}, {"attn_mask": torch.tensor(m)}
    elif masked == "float":
        m = _rand((L, S), seed + 7)
        kw_c, kw_t = {"attn_mask": cr.tensor(m)}, {"attn_mask": torch.tensor(m)}
    elif masked == "causal":
        kw_c = kw_t = {"is_causal": True}
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw_c),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, **kw_t), arrays)


def _bool_mask(shape, seed, p=0.35):
    """Random bool mask (True = may attend) with at least one True per row."""
    m = np.random.default_rng(seed).random(shape) > p
    m[..., 0] = True
    return m


@needs_torch
@pytest.mark.parametrize("shapes", SDPA_SHAPES)
@pytest.mark.parametrize("mask_shape", ["full", "LS", "b1S"])
def test_sdpa_bool_mask(shapes, mask_shape):
    qs, ks, _ = shapes
    L, S = qs[-2], ks[-2]
    full = np.broadcast_shapes(qs[:-2], ks[:-2]) + (L, S)
    shape = {"full": full, "LS": (L, S), "b1S": full[:-2] + (1, S)}[mask_shape]
    m = _bool_mask(shape, 5)
    arrays = [_rand(s, i) for i, s in enumerate(shapes)]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(m)),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(m)),
                arrays)


@needs_torch
@pytest.mark.parametrize("shapes", SDPA_SHAPES[1:])
def test_sdpa_float_mask_with_gradient(shapes):
    """A float mask is added to the scores, and its gradient (summed over broadcast dims) matches torch's."""
    qs, ks, _ = shapes
    mshape = (qs[-2], ks[-2])
    m = _rand(mshape, 9)
    m[0, 1] = -np.inf
    arrays = [_rand(s, i) for i, s in enumerate(shapes)] + [m]
    check_torch(lambda q, k, v, mm: F.scaled_dot_product_attention(q, k, v, attn_mask=mm),
                lambda q, k, v, mm: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mm),
                arrays)


@needs_torch
@pytest.mark.parametrize("L, S", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal(L, S):
    arrays = [_rand((2, 2, L, 4), 0), _rand((2, 2, S, 4), 1), _rand((2, 2, S, 3), 2)]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), arrays)


@needs_torch
def test_sdpa_fully_masked_rows_give_zeros_as_torch():
    """A query whose keys are all masked out gets zero output (and zero gradient), as torch's SDPA."""
    m = _bool_mask((3, 5), 1)
    m[1] = False
    arrays = [_rand((2, 3, 4), 0), _rand((2, 5, 4), 1), _rand((2, 5, 2), 2)]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(m)),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(m)),
                arrays)
    out = F.scaled_dot_product_attention(*(cr.tensor(a) for a in arrays), attn_mask=cr.tensor(m))
    assert np.all(out.numpy()[:, 1] == 0)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sdpa_extreme_scores(dtype):
    """Scores of ±1e3 (beyond exp's range) and rows whose every score is far below 0 (a -2000 float
    mask row): the softmax stays exact, as torch's max-shifted one."""
    q, k, v = _rand((2, 3, 4), 0) * 40, _rand((2, 5, 4), 1) * 40, _rand((2, 5, 2), 2)
    m = _rand((3, 5), 3)
    m[1] -= 2000.0
    m[2, :2] = -np.inf
    tol = {"atol": 1e-10} if dtype == "float64" else {"atol": 2e-5, "rtol": 1e-4}
    for mask in (None, m):
        args_c = [cr.tensor(a, dtype=getattr(cr, dtype)) for a in (q, k, v)]
        args_t = [torch.tensor(a, dtype=getattr(torch, dtype)) for a in (q, k, v)]
        kc = {} if mask is None else {"attn_mask": cr.tensor(mask, dtype=getattr(cr, dtype))}
        kt = {} if mask is None else {"attn_mask": torch.tensor(mask, dtype=getattr(torch, dtype))}
        for scale in (None, 1e-3):                       # huge scores, then ordinary ones
            oc = F.scaled_dot_product_attention(*args_c, scale=scale, **kc).numpy()
            ot = torch.nn.functional.scaled_dot_product_attention(*args_t, scale=scale, **kt).numpy()
            assert np.isfinite(oc).all()
            np.testing.assert_allclose(oc, ot, **tol)
    check_torch(lambda q, k, v, mm: F.scaled_dot_product_attention(q, k, v, attn_mask=mm, scale=1e-3),
                lambda q, k, v, mm: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mm,
                                                                                     scale=1e-3),
                [q, k, v, m], requires=[True, True, True, False])


@needs_torch
def test_sdpa_gqa():
    arrays = [_rand((2, 4, 3, 4), 0), _rand((2, 2, 5, 4), 1), _rand((2, 2, 5, 3), 2)]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True), arrays)


def test_sdpa_gradcheck():
    q, k, v, m = _rand((2, 3, 2), 0), _rand((2, 4, 2), 1), _rand((2, 4, 3), 2), _rand((3, 4), 3)
    check_gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), [q, k, v, m])
    check_gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7), [q, k, v])


def test_sdpa_gradcheck_with_dropout():
    """The same seed before each call gives the same dropout mask, so the function is deterministic."""
    q, k, v = _rand((2, 3, 2), 0), _rand((2, 4, 2), 1), _rand((2, 4, 3), 2)

    def fn(q, k, v):
        cr.manual_seed(3)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    check_gradcheck(fn, [q, k, v])


def test_sdpa_gradgradcheck():
    """Second derivatives through the fused node's differentiable (create_graph) backward."""
    xs = [cr.tensor(_rand(s, i), dtype=cr.float64, requires_grad=True)
          for i, s in enumerate([(2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4)])]
    assert cr.autograd.gradgradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), xs)

    def fn(q, k, v):
        cr.manual_seed(3)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    assert cr.autograd.gradgradcheck(fn, xs[:3])


def test_sdpa_dropout_keeps_and_rescales_weights():
    """With value = identity the output is the weights: each is the softmax weight / (1-p) or 0, and about
    a fraction p of them is 0."""
    S, p = 64, 0.3
    q, k = _rand((4, 32, 8), 0), _rand((4, S, 8), 1)
    v = np.broadcast_to(np.eye(S), (4, S, S))
    cr.manual_seed(0)
    out = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v), dropout_p=p).numpy()
    s = q @ k.transpose(0, 2, 1) / math.sqrt(8)
    ref = np.exp(s - s.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    ratio = out / (ref / (1 - p))
    kept = np.isclose(ratio, 1.0, atol=1e-12)
    dropped = out == 0
    assert np.all(kept | dropped)
    assert abs(dropped.mean() - p) < 0.03
    out1 = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v), dropout_p=1.0)
    assert np.all(out1.numpy() == 0)


def test_sdpa_errors():
    q, k, v = cr.randn(2, 3, 4), cr.randn(2, 5, 4), cr.randn(2, 5, 6)
    with pytest.raises(cr.errors.ShapeError, match=r"embedding size E.*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, cr.randn(2, 5, 3), v)
    with pytest.raises(cr.errors.ShapeError, match=r"sequence length S.*\(2, 4, 6\)"):
        F.scaled_dot_product_attention(q, k, cr.randn(2, 4, 6))
    with pytest.raises(cr.errors.ShapeError, match="at least 2-dimensional"):
        F.scaled_dot_product_attention(cr.randn(4), cr.randn(4), cr.randn(4))
    with pytest.raises(cr.errors.ShapeError, match=r"attn_mask of shape \(4, 5\).*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.zeros(4, 5))
    with pytest.raises(cr.errors.ShapeError, match="batch dims"):
        F.scaled_dot_product_attention(q, cr.randn(3, 5, 4), cr.randn(3, 5, 6))
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.ones(3, 5, dtype=cr.bool), is_causal=True)
    with pytest.raises(cr.errors.DTypeError, match="same floating dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(cr.errors.DTypeError, match="bool and floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.zeros(3, 5, dtype=cr.int64))


# ------------------------------------------------------------------------------------- MultiheadAttention
def _randomise(tmod, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


def _load_from_torch(cmod, tmod):
    sd = {k: v.detach().numpy() for k, v in tmod.state_dict().items()}
    assert list(sd) == list(cmod.state_dict()), "state-dict names differ from PyTorch's"
    cmod.load_state_dict(sd)


def _pair(seed=0, **kw):
    tmod = torch.nn.MultiheadAttention(**kw)
    cmod = nn.MultiheadAttention(**kw).double()
    _randomise(tmod, seed)
    _load_from_torch(cmod, tmod)
    return cmod, tmod


def compare_mha(cmod, tmod, q, k=None, v=None, train=True, call_kw=None, self_attn=False, float_masks=()):
    """Forward both modules (q is k is v when ``self_attn``), backward random gradients of the output and
    of the weights, compare output, weights, input grads, every parameter grad and float-mask grads."""
    call_kw = dict(call_kw or {})
    cmod.train(train)
    tmod.train(train)
    arrays = [q] if self_attn else [q, k, v]
    xc = [cr.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    kc, kt = dict(call_kw), dict(call_kw)
    for name, val in call_kw.items():
        if isinstance(val, np.ndarray):
            need = name in float_masks
            kc[name] = cr.tensor(val, requires_grad=need)
            kt[name] = torch.tensor(val, requires_grad=need)
    args_c = xc * 3 if self_attn else xc
    args_t = xt * 3 if self_attn else xt
    oc, wc = cmod(*args_c, **kc)
    ot, wt = tmod(*args_t, **kt)
    np.testing.assert_allclose(oc.detach().numpy(), ot.detach().numpy(), atol=ATOL, rtol=1e-8, err_msg="output")
    assert (wc is None) == (wt is None)
    rng = np.random.default_rng(11)
    go = rng.standard_normal(tuple(ot.shape))
    lc = (oc * cr.tensor(go)).sum()
    lt = (ot * torch.tensor(go)).sum()
    if wt is not None:
        assert tuple(wc.shape) == tuple(wt.shape)
        np.testing.assert_allclose(wc.detach().numpy(), wt.detach().numpy(), atol=ATOL, rtol=1e-8, err_msg="weights")
        gw = rng.standard_normal(tuple(wt.shape))
        lc = lc + (wc * cr.tensor(gw)).sum()
        lt = lt + (wt * torch.tensor(gw)).sum()
    lc.backward()
    lt.backward()
    for i, (a, b) in enumerate(zip(xc, xt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=ATOL, rtol=1e-7, err_msg=f"input {i} grad")
    tparams = dict(tmod.named_parameters())
    cparams = dict(cmod.named_parameters())
    assert list(cparams) == list(tparams)
    for name, p in cparams.items():
        tp = tparams[name]
        assert (p.grad is None) == (tp.grad is None), name
        if tp.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=ATOL, rtol=1e-7, err_msg=name)
    for name in float_masks:
        np.testing.assert_allclose(kc[name].grad.numpy(), kt[name].grad.numpy(), atol=ATOL, rtol=1e-7,
                                   err_msg=f"{name} grad")
    cmod.zero_grad()
    tmod.zero_grad()


def _seq_first(L, N, E, seed, batch_first):
    return _rand((N, L, E) if batch_first else (L, N, E), seed)


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("train", [True, False])
def test_mha_self_attention(batch_first, need_weights, average, train):
    cmod, tmod = _pair(embed_dim=8, num_heads=2, batch_first=batch_first, dropout=0.0 if train else 0.5)
    x = _seq_first(5, 3, 8, 1, batch_first)
    compare_mha(cmod, tmod, x, train=train, self_attn=True,
                call_kw={"need_weights": need_weights, "average_attn_weights": average})


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_cross_attention(batch_first):
    """Query from one sequence (L=4), key/value from another (S=6)."""
    cmod, tmod = _pair(embed_dim=6, num_heads=3, batch_first=batch_first)
    q, kv = _seq_first(4, 2, 6, 1, batch_first), _seq_first(6, 2, 6, 2, batch_first)
    compare_mha(cmod, tmod, q, kv, _seq_first(6, 2, 6, 3, batch_first))
    compare_mha(cmod, tmod, q, kv, kv.copy(), call_kw={"need_weights": False})


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim(batch_first, need_weights):
    cmod, tmod = _pair(embed_dim=8, num_heads=4, kdim=3, vdim=5, batch_first=batch_first)
    assert cmod.in_proj_weight is None and tuple(cmod.k_proj_weight.shape) == (8, 3)
    compare_mha(cmod, tmod, _seq_first(4, 2, 8, 1, batch_first), _seq_first(6, 2, 3, 2, batch_first),
                _seq_first(6, 2, 5, 3, batch_first), call_kw={"need_weights": need_weights})


def _mha_masks(kind, L, S, N, H, seed=4):
    rng = np.random.default_rng(seed)
    if kind == "bool2d":
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False                                   # True = blocked; keep one key per row
        return {"attn_mask": m}, ()
    if kind == "bool3d":
        m = rng.random((N * H, L, S)) < 0.3
        m[..., 0] = False
        return {"attn_mask": m}, ()
    if kind == "float2d":
        return {"attn_mask": rng.standard_normal((L, S))}, ("attn_mask",)
    if kind == "float3d":
        return {"attn_mask": rng.standard_normal((N * H, L, S))}, ("attn_mask",)
    if kind == "kpm_bool":
        m = rng.random((N, S)) < 0.4
        m[:, 0] = False
        return {"key_padding_mask": m}, ()
    if kind == "kpm_float":
        return {"key_padding_mask": rng.standard_normal((N, S))}, ("key_padding_mask",)
    if kind == "both_bool":
        a = rng.random((L, S)) < 0.3
        a[:, 0] = False
        kp = rng.random((N, S)) < 0.3
        kp[:, 0] = False
        return {"attn_mask": a, "key_padding_mask": kp}, ()
    if kind == "both_float":
        return {"attn_mask": rng.standard_normal((L, S)), "key_padding_mask": rng.standard_normal((N, S))}, \
            ("attn_mask", "key_padding_mask")
    if kind == "causal":
        m = np.triu(np.ones((L, S), bool), 1)
        return {"attn_mask": m, "is_causal": True}, ()
    raise ValueError(kind)


MASK_KINDS = ["bool2d", "bool3d", "float2d", "float3d", "kpm_bool", "kpm_float", "both_bool", "both_float", "causal"]


@needs_torch
@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_masks(kind, need_weights, batch_first):
    L = S = 5
    N, H = 3, 2
    cmod, tmod = _pair(embed_dim=4, num_heads=H, batch_first=batch_first)
    kw, float_masks = _mha_masks(kind, L, S, N, H)
    kw["need_weights"] = need_weights
    compare_mha(cmod, tmod, _seq_first(L, N, 4, 1, batch_first), call_kw=kw, self_attn=True,
                float_masks=float_masks)


@needs_torch
@pytest.mark.parametrize("kind", ["bool2d", "float2d", "kpm_bool", "both_float"])
def test_mha_masks_cross(kind):
    L, S, N, H = 3, 5, 2, 2
    cmod, tmod = _pair(embed_dim=4, num_heads=H)
    kw, float_masks = _mha_masks(kind, L, S, N, H)
    compare_mha(cmod, tmod, _rand((L, N, 4), 1), _rand((S, N, 4), 2), _rand((S, N, 4), 3), call_kw=kw,
                float_masks=float_masks)


@needs_torch
def test_mha_fully_masked_rows_as_torch():
    """All keys of a query blocked: NaN weights/output with need_weights (torch's softmax), zeros without
    (torch's SDPA path); the other rows stay exact."""
    cmod, tmod = _pair(embed_dim=4, num_heads=2)
    x = _rand((3, 2, 4), 1)
    m = np.zeros((3, 3), bool)
    m[1] = True
    for need in (True, False):
        oc, wc = cmod(cr.tensor(x), cr.tensor(x), cr.tensor(x), attn_mask=cr.tensor(m), need_weights=need)
        ot, wt = tmod(torch.tensor(x), torch.tensor(x), torch.tensor(x), attn_mask=torch.tensor(m), need_weights=need)
        np.testing.assert_allclose(oc.detach().numpy(), ot.detach().numpy(), atol=ATOL, equal_nan=True)
        assert np.isnan(oc.detach().numpy()[1]).all() == need
        if need:
            np.testing.assert_allclose(wc.detach().numpy(), wt.detach().numpy(), atol=ATOL, equal_nan=True)


@needs_torch
@pytest.mark.parametrize("kw", [{"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True},
                                {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 2}])
@pytest.mark.parametrize("masks", [False, True])
def test_mha_options(kw, masks):
    E, H, L, N = 4, 2, 4, 3
    cmod, tmod = _pair(embed_dim=E, num_heads=H, **kw)
    kd, vd = kw.get("kdim", E), kw.get("vdim", E)
    call_kw, fm = ({}, ())
    if masks:
        call_kw, fm = _mha_masks("both_float", L, L, N, H)
    compare_mha(cmod, tmod, _rand((L, N, E), 1), _rand((L, N, kd), 2), _rand((L, N, vd), 3), call_kw=call_kw,
                float_masks=fm)


@needs_torch
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_unbatched(need_weights, average, batch_first):
    cmod, tmod = _pair(embed_dim=4, num_heads=2, batch_first=batch_first)
    rng = np.random.default_rng(2)
    kpm = rng.random(5) < 0.3
    kpm[0] = False
    am = rng.standard_normal((2, 3, 5))                   # (num_heads, L, S)
    compare_mha(cmod, tmod, _rand((3, 4), 1), _rand((5, 4), 2), _rand((5, 4), 3),
                call_kw={"need_weights": need_weights, "average_attn_weights": average, "key_padding_mask": kpm,
                         "attn_mask": am}, float_masks=("attn_mask",))


@needs_torch
def test_mha_state_dict_keys_and_init():
    for kw in [{}, {"bias": False}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True}]:
        t, c = torch.nn.MultiheadAttention(8, 2, **kw), nn.MultiheadAttention(8, 2, **kw)
        assert list(c.state_dict()) == list(t.state_dict())
        assert {k: tuple(v.shape) for k, v in c.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in t.state_dict().items()}
        assert repr(c) == repr(t)
    c = nn.MultiheadAttention(64, 4)
    bound = math.sqrt(6.0 / (64 + 3 * 64))                 # xavier_uniform_ of (3E, E)
    w = c.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(c.in_proj_bias.detach().numpy() == 0) and np.all(c.out_proj.bias.detach().numpy() == 0)
    assert np.abs(c.out_proj.weight.detach().numpy()).max() <= 1 / math.sqrt(64)


def test_mha_dropout_active_only_in_training():
    m = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = cr.randn(5, 3, 8)
    m.eval()
    a, wa = (t.detach() for t in m(x, x, x))
    b, wb = (t.detach() for t in m(x, x, x))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(wa.numpy().sum(-1), 1.0, rtol=1e-6)
    m.train()
    c, wc = m(x, x, x, average_attn_weights=False)
    assert not np.allclose(c.detach().numpy(), a.numpy())
    assert (wc.detach().numpy() == 0).mean() > 0.3          # dropped weights are returned, as in torch


def test_mha_errors():
    m = nn.MultiheadAttention(8, 2)
    x = cr.randn(5, 3, 8)
    with pytest.raises(cr.errors.ShapeError, match=r"embedding dimension of 8.*\(5, 3, 6\)"):
        m(cr.randn(5, 3, 6), x, x)
    with pytest.raises(cr.errors.ShapeError, match=r"2D attn_mask is \(5, 4\).*\(5, 5\)"):
        m(x, x, x, attn_mask=cr.zeros(5, 4))
    with pytest.raises(cr.errors.ShapeError, match=r"3D attn_mask is \(3, 5, 5\).*\(6, 5, 5\)"):
        m(x, x, x, attn_mask=cr.zeros(3, 5, 5))
    with pytest.raises(cr.errors.ShapeError, match=r"key_padding_mask of shape \(3, 5\).*\(5, 3\)"):
        m(x, x, x, key_padding_mask=cr.zeros(5, 3, dtype=cr.bool))
    with pytest.raises(cr.errors.ShapeError, match="unbatched 2-D.*4-D"):
        m(cr.randn(1, 5, 3, 8), x, x)
    with pytest.raises(cr.errors.ShapeError, match="key and value must be 3-D"):
        m(x, cr.randn(5, 8), x)
    with pytest.raises(cr.errors.ShapeError, match=r"key shape \(4, 3, 8\) does not match value shape"):
        m(x, cr.randn(4, 3, 8), x)
    with pytest.raises(cr.errors.ShapeError, match=r"key of shape \(5, 3, 4\).*expects 3 \(kdim\)|feature size 4"):
        nn.MultiheadAttention(8, 2, kdim=3, vdim=3)(x, cr.randn(5, 3, 4), cr.randn(5, 3, 3))
    with pytest.raises(RuntimeError, match="need attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)
    with pytest.raises(cr.errors.DTypeError, match="bool and floating"):
        m(x, x, x, attn_mask=cr.zeros(5, 5, dtype=cr.int64))


# ---------------------------------------------------------------------- the written-once rule (AttentionScoresGrad)
@pytest.mark.parametrize("kind", ["plain", "causal", "float mask", "dropout"])
def test_attention_first_order_equals_create_graph_and_gradgradcheck(kind):
    rng = np.random.default_rng(5)

    def T(*s):
        return cr.tensor(rng.standard_normal(s), dtype=cr.float64, requires_grad=True)
    args = (T(2, 3, 4), T(2, 5, 4), T(2, 5, 2))
    if kind == "float mask":
        args = args + (T(3, 5),)

    def f(q, k, v, m=None):
        if kind == "dropout":
            cr.manual_seed(5)                        # the same dropout mask at every call
            return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=kind == "causal")
    gy = cr.tensor(rng.standard_normal(tuple(f(*args).shape)), dtype=cr.float64)
    first = cr.autograd.grad(f(*args), args, gy)
    graph = cr.autograd.grad(f(*args), args, gy, create_graph=True)
    for a, b in zip(first, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert cr.autograd.gradgradcheck(f, args)
