"""Convolution layers (Conv1d, Conv2d, ConvTranspose1d/2d, Unfold/Fold) and their functionals vs PyTorch.

Each layer: a torch layer's weights are randomised, then copied through ``load_state_dict`` (names must
match torch's exactly); forward values, the input gradient and every parameter gradient are compared in
float64 at 1e-10, batched and unbatched, in train and eval mode, over stride 2, padding, dilation 2,
groups 2, 'same' (odd and even kernels), 'valid', padding modes, no bias. Random valid geometries are
drawn by hypothesis. The functionals: float64 gradcheck on tiny shapes, gradgradcheck (the create_graph
path, whose backward is itself made of conv / conv_transpose / weight-grad ops) and second derivatives
against torch's. Default init, repr, constructor validation and error messages are checked too.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.errors import ShapeError
from oracle import check_gradcheck, check_torch, needs_torch, torch

ATOL = 1e-10


def _randomise(tmod, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))


def _load_from_torch(cmod, tmod):
    sd = {k: v.detach().numpy() for k, v in tmod.state_dict().items()}
    assert list(sd) == list(cmod.state_dict()), "state-dict names differ from PyTorch's"
    cmod.load_state_dict(sd)


def compare(cmod, tmod, x, train=True, seed=3, atol=ATOL, **fwd_kw):
    """Forward x through both modules, backward a random gradient, compare output and all gradients."""
    cmod.train(train)
    tmod.train(train)
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yc, yt = cmod(xc, **fwd_kw), tmod(xt, **fwd_kw)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=1e-8)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=1e-7, err_msg="input grad")
    tparams = dict(tmod.named_parameters())
    for name, p in cmod.named_parameters():
        tp = tparams[name]
        assert (p.grad is None) == (tp.grad is None), name
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=atol, rtol=1e-7, err_msg=name)
    cmod.zero_grad()
    tmod.zero_grad()


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair_of(cls_name, *args, **kw):
    tmod = getattr(torch.nn, cls_name)(*args, **kw).double()
    cmod = getattr(nn, cls_name)(*args, **kw, dtype=cr.float64)
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    return cmod, tmod


# ------------------------------------------------------------------------------------------------ Conv2d
CONV2D_CASES = [
    ((3, 4, 3), {}),
    ((3, 4, 3), {"stride": 2}),
    ((3, 4, 3), {"padding": 1}),
    ((3, 4, 3), {"dilation": 2}),
    ((4, 6, 3), {"groups": 2}),
    ((4, 4, 3), {"groups": 4, "padding": 1}),                       # depthwise
    ((3, 4, 3), {"padding": "same"}),
    ((3, 4, (2, 4)), {"padding": "same", "dilation": (1, 2)}),     # even kernels: asymmetric 'same'
    ((3, 4, 3), {"padding": "valid"}),
    ((3, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    ((4, 6, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2, "bias": False}),
    ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"}),
    ((3, 4, 3), {"padding": 2, "padding_mode": "replicate", "stride": 2}),
    ((3, 4, 3), {"padding": "same", "padding_mode": "circular"}),
    ((1, 2, 1), {}),                                                # 1x1 kernel
]


@needs_torch
@pytest.mark.parametrize("args, kw", CONV2D_CASES)
def test_conv2d_matches_torch(args, kw):
    cmod, tmod = _pair_of("Conv2d", *args, **kw)
    for train in (True, False):
        compare(cmod, tmod, _x((2, args[0], 7, 8)), train=train)
    compare(cmod, tmod, _x((args[0], 6, 5), seed=1))                 # unbatched (C, H, W)


@needs_torch
@pytest.mark.parametrize("args, kw", [((3, 4, 3), {}), ((4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}),
                                      ((3, 4, 4), {"padding": "same", "dilation": 3}),
                                      ((3, 4, 3), {"padding": 1, "padding_mode": "reflect"}),
                                      ((2, 4, 5), {"dilation": 2, "bias": False})])
def test_conv1d_matches_torch(args, kw):
    cmod, tmod = _pair_of("Conv1d", *args, **kw)
    for train in (True, False):
        compare(cmod, tmod, _x((2, args[0], 11)), train=train)
    compare(cmod, tmod, _x((args[0], 9), seed=1))


@needs_torch
@pytest.mark.parametrize("args, kw", [
    ((3, 4, 3), {}),
    ((3, 4, 3), {"stride": 2}),
    ((3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((4, 6, 3), {"groups": 2, "dilation": 2}),
    ((4, 2, (2, 3)), {"stride": (3, 2), "padding": (1, 0), "output_padding": (2, 1), "bias": False}),
    ((2, 4, 3), {"stride": 1, "dilation": 2, "output_padding": 1}),     # output_padding < dilation
])
def test_conv_transpose2d_matches_torch(args, kw):
    cmod, tmod = _pair_of("ConvTranspose2d", *args, **kw)
    for train in (True, False):
        compare(cmod, tmod, _x((2, args[0], 5, 4)), train=train)
    compare(cmod, tmod, _x((args[0], 3, 4), seed=1))


@needs_torch
def test_conv_transpose2d_output_size():
    cmod, tmod = _pair_of("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    for size in [(9, 7), (10, 8), [2, 3, 10, 7]]:
        compare(cmod, tmod, _x((2, 3, 5, 4)), output_size=size)
    with pytest.raises(ValueError, match="output size"):
        cmod(cr.tensor(_x((2, 3, 5, 4))), output_size=(12, 7))


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
                                {"dilation": 2, "bias": False}])
def test_conv_transpose1d_matches_torch(kw):
    cmod, tmod = _pair_of("ConvTranspose1d", 4, 6, 3, **kw)
    compare(cmod, tmod, _x((2, 4, 7)))
    compare(cmod, tmod, _x((4, 5), seed=2))


@st.composite
def conv_geometries(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 8))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 8))
    n = draw(st.integers(1, 3))
    return dict(n=n, cin=cin, cout=cout, k=(kh, kw), stride=(sh, sw), dilation=(dh, dw), padding=(ph, pw),
                groups=groups, hw=(h, w), seed=draw(st.integers(0, 1000)))


@needs_torch
@pytest.mark.parametrize("layout", [False, True])
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding="same"),
                                dict(groups=2, stride=(1, 2), padding=(2, 0), bias=False)])
def test_both_im2col_layouts(monkeypatch, layout, kw):
    """conv and its weight gradient have two im2col layouts (NCHW, picked for wide rows, and batch-last);
    force each, on rows wide enough for the first and narrow enough for the second."""
    import chainrule.ops.conv as conv_ops
    monkeypatch.setattr(conv_ops, "batch_last", lambda geo: layout)
    cmod, tmod = _pair_of("Conv2d", 4, 6, 3, **kw)
    for shape in ((2, 4, 5, 20), (3, 4, 17, 6)):
        compare(cmod, tmod, _x(shape))
    xs = [cr.tensor(_g(s, i), requires_grad=True) for i, s in enumerate([(1, 4, 4, 5), (6, 2, 3, 2)])]
    assert cr.autograd.gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, groups=2), xs)


@needs_torch
@given(conv_geometries())
def test_conv2d_random_geometry(g):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["cin"]) + g["hw"])
    w = rng.standard_normal((g["cout"], g["cin"] // g["groups"]) + g["k"])
    b = rng.standard_normal(g["cout"])
    kw = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], groups=g["groups"])
    check_torch(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw),
                [x, w, b])


@needs_torch
@given(conv_geometries(), st.integers(0, 2))
def test_conv_transpose2d_random_geometry(g, extra):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["cin"]) + g["hw"])
    w = rng.standard_normal((g["cin"], g["cout"] // g["groups"]) + g["k"])
    b = rng.standard_normal(g["cout"])
    op = tuple(min(extra, max(s, d) - 1) for s, d in zip(g["stride"], g["dilation"]))
    # keep the output non-empty: (H-1)s - 2p + d(k-1) + op + 1 >= 1
    pad = tuple(min(p, ((h - 1) * s + d * (k - 1) + o) // 2)
                for p, h, s, d, k, o in zip(g["padding"], g["hw"], g["stride"], g["dilation"], g["k"], op))
    kw = dict(stride=g["stride"], padding=pad, output_padding=op, groups=g["groups"], dilation=g["dilation"])
    check_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kw), [x, w, b])


# ------------------------------------------------------------------------------------------------ unfold / fold
@needs_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2),
                                dict(kernel_size=3, padding=1, dilation=2),
                                dict(kernel_size=(3, 1), stride=(1, 2), padding=(1, 0))])
def test_unfold_fold_match_torch(kw):
    x = _x((2, 3, 7, 6))
    check_torch(lambda x: F.unfold(x, **kw), lambda x: torch.nn.functional.unfold(x, **kw), [x])
    check_torch(lambda x: F.unfold(x, **kw), lambda x: torch.nn.functional.unfold(x, **kw), [x[0]])   # unbatched
    cols = torch.nn.functional.unfold(torch.tensor(x), **kw).numpy()
    c = _x(cols.shape, seed=5)
    check_torch(lambda c: F.fold(c, (7, 6), **kw), lambda c: torch.nn.functional.fold(c, (7, 6), **kw), [c])
    check_torch(lambda c: F.fold(c, (7, 6), **kw), lambda c: torch.nn.functional.fold(c, (7, 6), **kw), [c[0]])
    cm, tm = nn.Unfold(**kw), torch.nn.Unfold(**kw)
    assert repr(cm) == repr(tm)
    np.testing.assert_allclose(cm(cr.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), atol=0)
    cm, tm = nn.Fold((7, 6), **kw), torch.nn.Fold((7, 6), **kw)
    assert repr(cm) == repr(tm)
    np.testing.assert_allclose(cm(cr.tensor(c)).numpy(), tm(torch.tensor(c)).numpy(), atol=ATOL)


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), c> = <x, fold(c)>: fold sums the overlapping windows back."""
    x, kw = _x((2, 3, 6, 5)), dict(kernel_size=(3, 2), stride=(1, 2), padding=1, dilation=(2, 1))
    u = F.unfold(cr.tensor(x), **kw).numpy()
    c = _x(u.shape, seed=9)
    lhs = (u * c).sum()
    rhs = (x * F.fold(cr.tensor(c), (6, 5), **kw).numpy()).sum()
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


def test_unfold_then_matmul_is_conv2d():
    """conv2d = W₂ @ unfold(x): the im2col identity, checked independently of PyTorch."""
    x, w = cr.tensor(_x((2, 3, 6, 7))), cr.tensor(_x((4, 3, 3, 2), seed=1))
    cols = F.unfold(x, (3, 2), stride=(2, 1), padding=1)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 8)
    np.testing.assert_allclose(F.conv2d(x, w, stride=(2, 1), padding=1).numpy(), y.numpy(), atol=1e-12)


# ------------------------------------------------------------------------------------------------ gradcheck
def _g(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding="same"),
                                dict(groups=2, padding=(1, 0))])
def test_conv2d_gradcheck(kw):
    cg = 4 // kw.get("groups", 1)
    check_gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [_g((2, 4, 5, 4)), _g((2, cg, 3, 2), 1), _g(2, 2)])


def test_conv1d_and_transposed_gradcheck():
    check_gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
                    [_g((2, 4, 6)), _g((4, 2, 3), 1), _g(4, 2)])
    check_gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
                    [_g((1, 4, 3, 2)), _g((4, 1, 3, 2), 1), _g(2, 2)])
    check_gradcheck(lambda x, w, b: F.conv_transpose1d(x, w, b, stride=3, dilation=2),
                    [_g((2, 2, 3)), _g((2, 3, 2), 1), _g(3, 2)])


def test_unfold_fold_gradcheck():
    check_gradcheck(lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1)), [_g((2, 2, 4, 4))])
    check_gradcheck(lambda c: F.fold(c, (4, 5), 2, dilation=(1, 2), padding=(0, 1)), [_g((2, 8, 15))])


@pytest.mark.parametrize("fn, shapes", [
    (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2), [(1, 4, 5, 5), (4, 2, 3, 3), (4,)]),
    (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     [(1, 2, 3, 3), (2, 3, 3, 2), (3,)]),
    (lambda x, w, b: F.conv1d(x, w, b, dilation=2), [(2, 2, 6), (3, 2, 2), (3,)]),
])
def test_conv_gradgradcheck(fn, shapes):
    """create_graph: the backward is written with conv / conv_adj / conv_wgrad ops, so it differentiates."""
    xs = [cr.tensor(_g(s, i), requires_grad=True) for i, s in enumerate(shapes)]
    assert cr.autograd.gradgradcheck(fn, xs)


def test_unfold_fold_gradgradcheck():
    x = cr.tensor(_g((1, 2, 4, 3)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: F.unfold(x, 2, padding=1) ** 2, [x])
    c = cr.tensor(_g((1, 8, 6)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda c: F.fold(c, (3, 4), 2) ** 2, [c])


@needs_torch
def test_conv2d_second_derivatives_match_torch():
    """d/dW and d/dx of ‖∂L/∂x‖² + ‖∂L/∂W‖², through create_graph, equal torch's."""
    x, w, b = _g((2, 4, 6, 5)), _g((6, 2, 3, 3), 1), _g(6, 2)
    kw = dict(stride=2, padding=1, groups=2, dilation=(1, 2))
    out = []
    for lib, conv in ((cr, F.conv2d), (torch, torch.nn.functional.conv2d)):
        xs = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = conv(*xs, **kw)
        loss = (y * y * y).sum()
        gx, gw = lib.autograd.grad(loss, xs[:2], create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        out.append([t.grad.detach().numpy() for t in xs])
    for c, t in zip(*out):
        np.testing.assert_allclose(c, t, atol=1e-8, rtol=1e-9)


# ------------------------------------------------------------------------------------------------ autograd details
def test_retain_graph_and_no_grad():
    """The forward's im2col buffer is reused once; a retain_graph re-run recomputes it and matches."""
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=cr.float64)
    x = cr.tensor(_x((2, 2, 5, 5)), requires_grad=True)
    y = conv(x).sum()
    y.backward(retain_graph=True)
    g1 = conv.weight.grad.numpy().copy(), x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), 2 * g1[0], atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1[1], atol=1e-12)
    with cr.no_grad():
        z = conv(x)
    assert not z.requires_grad and z.grad_fn is None
    np.testing.assert_allclose(z.numpy(), conv(x).detach().numpy(), atol=0)


def test_large_cols_are_recomputed_not_kept(monkeypatch):
    """Above KEEP_COLS_MAX_BYTES the forward's im2col buffer is not held until backward; dW is the same."""
    import chainrule.ops.conv as conv_ops
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=cr.float64)
    x = cr.tensor(_x((2, 2, 6, 20)))
    conv(x).sum().backward()
    kept = conv.weight.grad.numpy().copy()
    conv.zero_grad()
    monkeypatch.setattr(conv_ops, "KEEP_COLS_MAX_BYTES", 0)
    y = conv(x)
    assert y.grad_fn.cols is None
    y.sum().backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), kept, atol=1e-12)


def test_inplace_change_of_input_is_detected():
    conv = nn.Conv2d(2, 3, 3, dtype=cr.float64)
    x = cr.tensor(_x((1, 2, 5, 5)), requires_grad=True)
    h = x * 1
    y = conv(h).sum()
    with cr.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@needs_torch
def test_empty_batch_and_non_contiguous_input():
    w = _x((4, 3, 3, 3), seed=1)
    for fn, tfn, shape in ((F.conv2d, torch.nn.functional.conv2d, (0, 3, 5, 5)),
                           (F.conv_transpose2d, torch.nn.functional.conv_transpose2d, (0, 4, 5, 5))):
        wc = w if fn is F.conv2d else _x((4, 3, 3, 3), seed=2)
        xc, wcr = cr.zeros(*shape, requires_grad=True), cr.tensor(wc, requires_grad=True)
        y = fn(xc, wcr, padding=1)
        assert tuple(y.shape) == tuple(tfn(torch.zeros(shape), torch.tensor(wc), padding=1).shape)
        y.sum().backward()
        assert tuple(xc.grad.shape) == shape and not wcr.grad.numpy().any()
    a = _x((5, 6, 3, 2))                                          # a permuted (non-contiguous) view
    check_torch(lambda a, w: F.conv2d(a.permute(3, 2, 0, 1), w, stride=2, padding=1),
                lambda a, w: torch.nn.functional.conv2d(a.permute(3, 2, 0, 1), w, stride=2, padding=1), [a, w])


@needs_torch
def test_float32_matches_torch():
    cmod = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    tmod = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1).float()
    _load_from_torch(cmod, tmod)
    x = _x((2, 3, 9, 9)).astype(np.float32)
    yc, yt = cmod(cr.tensor(x)), tmod(torch.tensor(x))
    assert yc.dtype == cr.float32
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-5)


# ------------------------------------------------------------------------------------------------ init, repr, API
@needs_torch
@pytest.mark.parametrize("cls, args, kw, fan_in", [
    ("Conv2d", (8, 16, 3), {}, 8 * 9),
    ("Conv2d", (8, 16, (3, 5)), {"groups": 4}, 2 * 15),
    ("Conv1d", (6, 4, 7), {}, 42),
    ("ConvTranspose2d", (8, 12, 3), {"groups": 2}, 6 * 9),          # fan_in from weight.shape[1] = out/groups
])
def test_default_init(cls, args, kw, fan_in):
    """kaiming_uniform(a=√5) on the weight = U(-1/√fan_in, 1/√fan_in); bias U(-1/√fan_in, 1/√fan_in)."""
    cr.manual_seed(0)
    c, t = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert tuple(c.weight.shape) == tuple(t.weight.shape)
    assert tuple(c.bias.shape) == tuple(t.bias.shape)
    bound = 1 / math.sqrt(fan_in)
    draws = {"weight": [], "bias": []}
    for _ in range(5):                                            # a few re-inits: enough samples to see the range
        c.reset_parameters()
        draws["weight"].append(c.weight.detach().numpy().ravel().copy())
        draws["bias"].append(c.bias.detach().numpy().ravel().copy())
    for v in draws.values():
        v = np.concatenate(v)
        assert np.abs(v).max() <= bound + 1e-7
        assert np.abs(v).max() > 0.8 * bound                       # spread over the range, not collapsed
    assert np.abs(t.weight.detach().numpy()).max() <= bound + 1e-7   # the same bound as torch's
    w = c.weight.detach().numpy().ravel()
    if w.size > 500:                                              # uniform: std = bound/√3
        assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert c.weight.requires_grad and c.bias.requires_grad and c.weight.dtype == cr.float32


@needs_torch
@pytest.mark.parametrize("cls, args, kw", [
    ("Conv2d", (3, 6, 3), {}),
    ("Conv2d", (3, 6, (3, 5)), {"stride": 2, "padding": 1, "dilation": 2, "groups": 3, "bias": False,
                                "padding_mode": "reflect"}),
    ("Conv2d", (3, 6, 3), {"padding": "same"}),
    ("Conv2d", (3, 6, 3), {"padding": "valid"}),
    ("Conv1d", (3, 6, 3), {"stride": 2}),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ("ConvTranspose1d", (4, 6, 3), {"dilation": 2, "bias": False}),
])
def test_repr_attributes_and_state_dict_match_torch(cls, args, kw):
    c, t = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(c) == repr(t)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                 "output_padding", "padding_mode", "transposed", "_reversed_padding_repeated_twice"):
        assert getattr(c, attr) == getattr(t, attr), attr
    assert list(c.state_dict()) == list(t.state_dict())
    c.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)   # float32 copy


@needs_torch
@pytest.mark.parametrize("kw, match", [
    ({"groups": 0}, "groups must be a positive integer"),
    ({"groups": 2, "in_channels": 3}, "in_channels .* divisible by groups"),
    ({"groups": 2, "out_channels": 5}, "out_channels .* divisible by groups"),
    ({"padding": "full"}, "Invalid padding string"),
    ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided convolutions"),
    ({"padding_mode": "mirror"}, "padding_mode must be one of"),
])
def test_constructor_validation_as_torch(kw, match):
    args = dict(in_channels=4, out_channels=6, kernel_size=3)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        nn.Conv2d(**args)
    with pytest.raises(ValueError):
        torch.nn.Conv2d(**args)


def test_conv_transpose_rejects_other_padding_modes():
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")


# ------------------------------------------------------------------------------------------------ errors
def test_layer_input_shape_errors():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=r"Conv2d: expected 3 input channels, got 4 "
                                         r"\(input of shape \(2, 4, 8, 8\); expected input of shape \(N, 3, H, W\) or \(3, H, W\); in_channels=3\)"):
        conv(cr.zeros(2, 4, 8, 8))
    with pytest.raises(ShapeError, match=r"Conv2d: expected 3 input channels, got 2"):
        conv(cr.zeros(2, 8, 8))
    with pytest.raises(ShapeError, match=r"Conv2d: expected input of shape \(N, 3, H, W\) or \(3, H, W\), "
                                         r"got \(8, 8\)"):
        conv(cr.zeros(8, 8))
    with pytest.raises(ShapeError, match=r"Conv1d: expected 2 input channels, got 3 \(input of shape \(2, 3, 5\); "
                                         r"expected input of shape \(N, 2, L\) or \(2, L\)"):
        nn.Conv1d(2, 3, 3)(cr.zeros(2, 3, 5))
    with pytest.raises(ShapeError, match=r"ConvTranspose2d: expected 4 input channels, got 2 .*\(N, 4, H, W\)"):
        nn.ConvTranspose2d(4, 2, 3)(cr.zeros(1, 2, 5, 5))
    with pytest.raises(ShapeError, match=r"ConvTranspose1d: expected 4 input channels, got 2"):
        nn.ConvTranspose1d(4, 2, 3)(cr.zeros(1, 2, 5))
    with pytest.raises(ShapeError, match=r"ConvTranspose1d: expected input of shape \(N, 4, L\) or \(4, L\), "
                                         r"got \(1, 2, 5, 5\)"):
        nn.ConvTranspose1d(4, 2, 3)(cr.zeros(1, 2, 5, 5))


def test_conv_wrong_constructor_argument_names_the_layer():
    with pytest.raises(TypeError, match=r"^Conv2d\.__init__\(\) got an unexpected keyword argument 'kernel'$"):
        nn.Conv2d(3, 4, kernel=3)
    with pytest.raises(TypeError, match=r"^ConvTranspose1d\.__init__\(\) got an unexpected keyword argument"):
        nn.ConvTranspose1d(3, 4, kernel=3)


def test_functional_errors_name_op_shapes_and_fix():
    x, w = cr.zeros(2, 4, 8, 8), cr.zeros(6, 3, 3, 3)
    with pytest.raises(ShapeError, match=r"conv2d: weight of shape \(6, 3, 3, 3\) with groups=1 expects input "
                                         r"with 3 channels, but got input of shape \(2, 4, 8, 8\) with 4"):
        F.conv2d(x, w)
    with pytest.raises(ShapeError, match=r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input"):
        F.conv2d(cr.zeros(8, 8), w)
    with pytest.raises(ShapeError, match=r"conv2d: weight must be 4-D"):
        F.conv2d(x, cr.zeros(6, 4, 3))
    with pytest.raises(ShapeError, match=r"kernel .* is larger than the padded input .*Fix"):
        F.conv2d(cr.zeros(1, 3, 2, 2), w)
    with pytest.raises(ShapeError, match=r"bias must have shape \(6,\)"):
        F.conv2d(cr.zeros(1, 3, 5, 5), w, cr.zeros(5))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv2d(cr.zeros(1, 3, 5, 5), w, padding="same", stride=2)
    with pytest.raises(ValueError, match="invalid padding string"):
        F.conv2d(cr.zeros(1, 3, 5, 5), w, padding="full")
    with pytest.raises(ValueError, match="stride must be >= 1"):
        F.conv2d(cr.zeros(1, 3, 5, 5), w, stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a tuple of 2 ints"):
        F.conv2d(cr.zeros(1, 3, 5, 5), w, padding=(1, 2, 3))
    with pytest.raises(ShapeError, match=r"out_channels \(6\) must be divisible by groups \(4\)"):
        F.conv2d(cr.zeros(1, 4, 5, 5), cr.zeros(6, 1, 3, 3), groups=4)
    with pytest.raises(ValueError, match="output_padding .* must be smaller than either stride"):
        F.conv_transpose2d(cr.zeros(1, 3, 4, 4), cr.zeros(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ShapeError, match=r"conv_transpose2d: weight of shape \(3, 2, 3, 3\) .* expects input with "
                                         r"3 channels"):
        F.conv_transpose2d(cr.zeros(1, 2, 4, 4), cr.zeros(3, 2, 3, 3))
    with pytest.raises(ShapeError, match=r"fold: input of shape \(1, 12, 5\) has 5 blocks, but output_size"):
        F.fold(cr.zeros(1, 12, 5), (4, 4), 2)
    with pytest.raises(ShapeError, match=r"fold: expected the size of dim 1 of the input \(10\) to be divisible"):
        F.fold(cr.zeros(1, 10, 9), (4, 4), 2)
    with pytest.raises(ShapeError, match=r"unfold: expected a 3-D .* or 4-D .* input, got shape \(4, 4\)"):
        F.unfold(cr.zeros(4, 4), 2)


# ------------------------------------------------------------------------------------------------ LeNet-5
@needs_torch
def test_lenet5_training_step_matches_torch():
    """The benchmark's model: one SGD step in float64, loss and every gradient equal torch's."""
    def model(m):
        return m.Sequential(m.Conv2d(1, 6, 5, padding=2), m.ReLU(), m.MaxPool2d(2), m.Conv2d(6, 16, 5), m.ReLU(),
                            m.MaxPool2d(2), m.Flatten(), m.Linear(400, 120), m.ReLU(), m.Linear(120, 84), m.ReLU(),
                            m.Linear(84, 10))
    tm = model(torch.nn).double()
    cm = model(nn).double()
    _load_from_torch(cm, tm)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 1, 28, 28)), rng.integers(0, 10, 8)
    lc = F.cross_entropy(cm(cr.tensor(x)), cr.tensor(y))
    lt = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
    lc.backward()
    lt.backward()
    assert abs(lc.item() - lt.item()) < 1e-12
    tparams = dict(tm.named_parameters())
    for name, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-12, err_msg=name)


@pytest.mark.parametrize("layout", [False, True])
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_first_order_grads_equal_create_graph_grads(monkeypatch, layout, op):
    """One backward text for both carriers: loss.backward() gives bit for bit the gradients that
    autograd.grad(..., create_graph=True) gives (float32, where any change of kernel would show)."""
    import chainrule.ops.conv as conv_ops
    monkeypatch.setattr(conv_ops, "batch_last", lambda geo: layout)
    rng = np.random.default_rng(3)
    wshape = (4, 3, 3, 3) if op == "conv2d" else (3, 4, 3, 3)       # 3 channels in, 4 out, either way
    x, w, b = (cr.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in ((2, 3, 7, 9), wshape, (4,)))
    f = getattr(F, op)

    def loss():
        return (f(x, w, b, stride=2, padding=1) ** 2).sum()
    loss().backward()
    first = [t.grad.numpy().copy() for t in (x, w, b)]
    second = cr.autograd.grad(loss(), (x, w, b), create_graph=True)
    assert all(s.requires_grad for s in second)
    for a, s in zip(first, second):
        assert a.tobytes() == s.detach().numpy().tobytes()
