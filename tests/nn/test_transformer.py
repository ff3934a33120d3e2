"""TransformerEncoderLayer and TransformerEncoder against PyTorch.

Weights copied from torch modules (randomised first) through ``load_state_dict``; outputs, the input
gradient and every parameter gradient compared in float64 - train mode with dropout 0, eval mode with
dropout 0.1 - for post-/pre-norm, relu/gelu/custom activations, batch_first both ways, bias on/off, and
bool/float/causal source masks and key padding masks.
"""
import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import needs_torch, torch

ATOL = 1e-10


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _randomise(tmod, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in tmod.named_parameters():
            base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.4 + base)


def _load_from_torch(cmod, tmod):
    sd = {k: v.detach().numpy() for k, v in tmod.state_dict().items()}
    assert list(sd) == list(cmod.state_dict()), "state-dict names differ from PyTorch's"
    cmod.load_state_dict(sd)


def compare(cmod, tmod, x, train, call_c=None, call_t=None, float_masks=(), **kw):
    """Forward x (plus masks in kw) through both, backward a random gradient, compare everything."""
    cmod.train(train)
    tmod.train(train)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kc, kt = {}, {}
    for name, val in kw.items():
        if isinstance(val, np.ndarray):
            kc[name] = cr.tensor(val, requires_grad=name in float_masks)
            kt[name] = torch.tensor(val, requires_grad=name in float_masks)
        else:
            kc[name] = kt[name] = val
    yc, yt = cmod(xc, **kc), tmod(xt, **kt)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=ATOL, rtol=1e-8, err_msg="output")
    g = np.random.default_rng(5).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=ATOL, rtol=1e-7, err_msg="input grad")
    tparams = dict(tmod.named_parameters())
    cparams = dict(cmod.named_parameters())
    assert list(cparams) == list(tparams)
    for name, p in cparams.items():
        assert (p.grad is None) == (tparams[name].grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=ATOL, rtol=1e-7,
                                       err_msg=name)
    for name in float_masks:
        np.testing.assert_allclose(kc[name].grad.numpy(), kt[name].grad.numpy(), atol=ATOL, rtol=1e-7,
                                   err_msg=f"{name} grad")
    cmod.zero_grad()
    tmod.zero_grad()


# built on use, not at import: without torch this module must still collect (its tests then skip)
ACTS = {"relu": lambda: ("relu", "relu"), "gelu": lambda: ("gelu", "gelu"),
        "F.gelu": lambda: (F.gelu, torch.nn.functional.gelu), "GELU()": lambda: (nn.GELU(), torch.nn.GELU()),
        "silu": lambda: (F.silu, torch.nn.functional.silu)}


def _layer_pair(d_model=8, nhead=2, dim_ff=12, dropout=0.0, act="relu", seed=0, **kw):
    ca, ta = ACTS[act]()
    t = torch.nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout, activation=ta, **kw)
    c = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout, activation=ca, **kw).double()
    _randomise(t, seed)
    _load_from_torch(c, t)
    return c, t


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, act, batch_first):
    c, t = _layer_pair(act=act, norm_first=norm_first, batch_first=batch_first)
    x = _rand((3, 5, 8) if batch_first else (5, 3, 8), 1)
    compare(c, t, x, train=True)
    c2, t2 = _layer_pair(act=act, norm_first=norm_first, batch_first=batch_first, dropout=0.1, seed=1)
    compare(c2, t2, x, train=False)


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
def test_encoder_layer_bias_and_eps(bias):
    c, t = _layer_pair(bias=bias, layer_norm_eps=1e-3, d_model=6, nhead=3)
    compare(c, t, _rand((4, 2, 6), 2), train=True)


def _masks(kind, L, N, H, seed=3):
    rng = np.random.default_rng(seed)
    if kind == "bool":
        m = rng.random((L, L)) < 0.3
        np.fill_diagonal(m, False)
        return {"src_mask": m}, ()
    if kind == "float":
        return {"src_mask": rng.standard_normal((L, L))}, ("src_mask",)
    if kind == "float3d":
        return {"src_mask": rng.standard_normal((N * H, L, L))}, ()
    if kind == "causal":
        return {"src_mask": np.triu(np.full((L, L), -np.inf), 1), "is_causal": True}, ()
    if kind == "causal_bool":
        return {"src_mask": np.triu(np.ones((L, L), bool), 1)}, ()
    if kind == "kpm":
        kp = rng.random((N, L)) < 0.4
        kp[:, 0] = False
        return {"src_key_padding_mask": kp}, ()
    if kind == "kpm+causal":
        kp = rng.random((N, L)) < 0.4
        kp[:, 0] = False
        return {"src_key_padding_mask": kp, "src_mask": np.triu(np.ones((L, L), bool), 1)}, ()
    if kind == "kpm_float":
        return {"src_key_padding_mask": rng.standard_normal((N, L))}, ("src_key_padding_mask",)
    raise ValueError(kind)


@needs_torch
@pytest.mark.parametrize("kind", ["bool", "float", "float3d", "causal", "causal_bool", "kpm", "kpm+causal",
                                  "kpm_float"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_masks(kind, norm_first, batch_first):
    L, N, H = 5, 3, 2
    c, t = _layer_pair(norm_first=norm_first, batch_first=batch_first, act="gelu")
    kw, fm = _masks(kind, L, N, H)
    x = _rand((N, L, 8) if batch_first else (L, N, 8), 1)
    compare(c, t, x, train=True, float_masks=fm, **kw)


@needs_torch
def test_encoder_layer_unbatched():
    c, t = _layer_pair()
    compare(c, t, _rand((5, 8), 1), train=True, src_mask=np.triu(np.ones((5, 5), bool), 1))


@needs_torch
@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_matches_torch(norm, norm_first):
    lc, lt = _layer_pair(norm_first=norm_first)
    tn = torch.nn.LayerNorm(8) if norm else None
    cn = nn.LayerNorm(8).double() if norm else None
    t = torch.nn.TransformerEncoder(lt, 3, norm=tn, enable_nested_tensor=False)
    c = nn.TransformerEncoder(lc, 3, norm=cn)
    _randomise(t, 7)                        # every layer different, so a shared copy would show
    _load_from_torch(c, t)
    x = _rand((5, 3, 8), 1)
    compare(c, t, x, train=True)
    kp = np.zeros((3, 5), bool)
    kp[1, 3:] = True
    compare(c, t, x, train=True, mask=np.triu(np.ones((5, 5), bool), 1), src_key_padding_mask=kp)
    compare(c, t, x, train=True, mask=np.triu(np.full((5, 5), -np.inf), 1), is_causal=True)


def test_encoder_deep_copies_the_layer():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 2)
    p0 = enc.layers[0].self_attn.in_proj_weight
    p1 = enc.layers[1].self_attn.in_proj_weight
    assert p0 is not p1 and p0 is not layer.self_attn.in_proj_weight
    np.testing.assert_array_equal(p0.detach().numpy(), p1.detach().numpy())   # copies start equal
    with cr.no_grad():
        p0.mul_(2.0)
    assert not np.allclose(p0.detach().numpy(), p1.detach().numpy())
    assert len(list(enc.parameters())) == 2 * len(list(layer.parameters()))


@needs_torch
def test_state_dict_keys_and_repr():
    for kw in [{}, {"bias": False}, {"norm_first": True, "activation": "gelu"}]:
        t = torch.nn.TransformerEncoderLayer(8, 2, 16, **kw)
        c = nn.TransformerEncoderLayer(8, 2, 16, **kw)
        assert list(c.state_dict()) == list(t.state_dict())
        assert repr(c) == repr(t)
        te = torch.nn.TransformerEncoder(t, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
        ce = nn.TransformerEncoder(c, 2, norm=nn.LayerNorm(8))
        assert list(ce.state_dict()) == list(te.state_dict())


@needs_torch
def test_generate_square_subsequent_mask():
    m = nn.transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_dropout_in_training_only():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3)
    x = cr.randn(5, 3, 8)
    layer.eval()
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    np.testing.assert_array_equal(a, b)
    layer.train()
    c, d = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert not np.allclose(c, d) and not np.allclose(a, c)


def test_training_step_reduces_loss():
    """A few SGD steps on a fixed batch lower an MSE loss: the gradients point downhill."""
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    x, target = cr.randn(4, 6, 16), cr.randn(4, 6, 16)
    losses = []
    for _ in range(5):
        loss = ((layer(x) - target) ** 2).mean()
        layer.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in layer.parameters():
                p.add_(p.grad, alpha=-0.05)
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_errors():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(cr.errors.ShapeError, match=r"TransformerEncoderLayer: .*d_model=8, got \(5, 3, 6\)"):
        layer(cr.randn(5, 3, 6))
    with pytest.raises(cr.errors.ShapeError, match=r"\(N, L, d_model\).*got \(8,\)"):
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)(cr.randn(8))
    with pytest.raises(cr.errors.ShapeError, match=r"2D attn_mask is \(4, 4\).*\(5, 5\)"):
        layer(cr.randn(5, 3, 8), src_mask=cr.zeros(4, 4))
    with pytest.raises(TypeError, match="encoder_layer must be a Module"):
        nn.TransformerEncoder("layer", 2)
    _ = copy  # (deepcopy is exercised through TransformerEncoder)
