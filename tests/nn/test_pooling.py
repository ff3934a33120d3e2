"""Pooling layers (MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d), Upsample and their functionals
(max_pool*, avg_pool*, adaptive_avg_pool*, interpolate) against PyTorch.

Values and input gradients in float64 over stride != kernel, padding, dilation, ceil_mode,
count_include_pad, divisor_override, return_indices (indices compared exactly), batched and unbatched;
random geometries from hypothesis; max pooling's tie rule (first maximum, as after a ReLU), NaN windows
and non-finite incoming gradients; float64 gradcheck and gradgradcheck (the create_graph path: each
backward is the op's adjoint, whose backward is the op again). Repr and error messages too.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.errors import DTypeError, ShapeError
from oracle import check_gradcheck, check_torch, needs_torch, torch

TF = torch.nn.functional if torch is not None else None


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def check_module(cmod, tmod, x, seed=3):
    """Output (and indices) equal torch's; the input gradient of a random upstream gradient too."""
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = cmod(xc), tmod(xt)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(yc[1].numpy(), yt[1].numpy(), err_msg="indices")
        assert yc[1].dtype == cr.int64
        yc, yt = yc[0], yt[0]
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12, rtol=1e-10)
    g = _x(tuple(yt.shape), seed)
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12, rtol=1e-10, err_msg="input grad")


# ------------------------------------------------------------------------------------------------ max pooling
MAX2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=1, padding=1),                     # overlapping windows
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=2, stride=3),                                # gaps between windows
    dict(kernel_size=2, return_indices=True),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True, return_indices=True),
]


@needs_torch
@pytest.mark.parametrize("kw", MAX2D)
def test_maxpool2d_matches_torch(kw):
    cm, tm = nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw)
    assert repr(cm) == repr(tm)
    check_module(cm, tm, _x((2, 3, 9, 10)))
    check_module(cm, tm, _x((3, 7, 8), seed=1))                  # unbatched


@needs_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, dilation=2, ceil_mode=True, return_indices=True)])
def test_maxpool1d_matches_torch(kw):
    cm, tm = nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw)
    assert repr(cm) == repr(tm)
    check_module(cm, tm, _x((2, 3, 11)))
    check_module(cm, tm, _x((3, 10), seed=1))


@needs_torch
def test_maxpool_ties_go_to_the_first_maximum():
    """After a ReLU many windows are all zeros: the gradient goes to the first one, as in torch."""
    x = np.maximum(np.round(_x((2, 2, 8, 8)) * 1.5), 0)
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=3, stride=2)):
        check_module(nn.MaxPool2d(**kw, return_indices=True), torch.nn.MaxPool2d(**kw, return_indices=True), x)


@needs_torch
def test_maxpool_nan_windows_and_infinite_gradients():
    x = _x((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 1, 4, 5] = x[0, 1, 4, 4] = np.nan
    yc, ic = F.max_pool2d(cr.tensor(x), 2, return_indices=True)
    yt, it = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())         # NaN where torch has NaN
    np.testing.assert_array_equal(ic.numpy(), it.numpy())         # torch: the last NaN of the window
    g = np.ones((1, 2, 3, 3))
    g[0, 0, 0, 0], g[0, 1, 2, 1] = np.inf, -np.inf
    xc, xt = cr.tensor(_x((1, 2, 6, 6)), requires_grad=True), torch.tensor(_x((1, 2, 6, 6)), requires_grad=True)
    F.max_pool2d(xc, 2).backward(cr.tensor(g))
    TF.max_pool2d(xt, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())   # inf only at the max, no NaN elsewhere


# ------------------------------------------------------------------------------------------------ avg pooling
AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    dict(kernel_size=3, padding=1, divisor_override=5),
]


@needs_torch
@pytest.mark.parametrize("kw", AVG2D)
def test_avgpool2d_matches_torch(kw):
    cm, tm = nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw)
    assert repr(cm) == repr(tm)
    check_module(cm, tm, _x((2, 3, 9, 10)))
    check_module(cm, tm, _x((3, 7, 8), seed=1))


@needs_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)])
def test_avgpool1d_matches_torch(kw):
    cm, tm = nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw)
    assert repr(cm) == repr(tm)
    assert (cm.kernel_size, cm.stride, cm.padding) == (tm.kernel_size, tm.stride, tm.padding)
    check_module(cm, tm, _x((2, 3, 11)))
    check_module(cm, tm, _x((3, 10), seed=1))


@st.composite
def pool_geometries(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = tuple(draw(st.integers(max(1, dd * (kk - 1) + 1 - 2 * pp), 7)) for kk, pp, dd in zip(k, p, d))
    return dict(k=k, s=s, p=p, d=d, hw=hw, ceil=draw(st.booleans()), seed=draw(st.integers(0, 100)))


def _every_window_sees_the_input(g):
    """False when some window lies entirely in the padding (possible with dilation): torch then reports an
    argmax index outside the window's plane and scatters its gradient into the neighbouring channel, so
    there is no sane reference to compare with."""
    for n, k, s, p, d, ceil in zip(g["hw"], g["k"], g["s"], g["p"], g["d"], (g["ceil"],) * 2):
        num = n + 2 * p - d * (k - 1) - 1
        o = (-(-num // s) if ceil else num // s) + 1
        if ceil and (o - 1) * s >= n + p:
            o -= 1
        for i in range(o):
            if not any(0 <= i * s - p + t * d < n for t in range(k)):
                return False
    return True


@needs_torch
@given(pool_geometries(), st.booleans())
def test_pool2d_random_geometry(g, include_pad):
    assume(_every_window_sees_the_input(g))
    x = _x((2, 2) + g["hw"], g["seed"])
    kw = dict(kernel_size=g["k"], stride=g["s"], padding=g["p"], ceil_mode=g["ceil"])
    check_torch(lambda x: F.max_pool2d(x, dilation=g["d"], **kw), lambda x: TF.max_pool2d(x, dilation=g["d"], **kw),
                [x])
    if all(h + 2 * p >= k for h, p, k in zip(g["hw"], g["p"], g["k"])):
        check_torch(lambda x: F.avg_pool2d(x, count_include_pad=include_pad, **kw),
                    lambda x: TF.avg_pool2d(x, count_include_pad=include_pad, **kw), [x])


# ------------------------------------------------------------------------------------------------ adaptive
@needs_torch
@pytest.mark.parametrize("size", [1, 3, (4, 5), (None, 3), (3, None), (9, 7), (2, 10), (12, 13)])
def test_adaptive_avgpool2d_matches_torch(size):
    cm, tm = nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size)
    assert repr(cm) == repr(tm)
    check_module(cm, tm, _x((2, 3, 9, 10)))
    check_module(cm, tm, _x((3, 7, 8), seed=1))


@needs_torch
@pytest.mark.parametrize("size", [1, 4, 5, 14])
def test_adaptive_avgpool1d_matches_torch(size):
    check_module(nn.AdaptiveAvgPool1d(size), torch.nn.AdaptiveAvgPool1d(size), _x((2, 3, 10)))


@needs_torch
def test_adaptive_avgpool_keeps_infinities_local():
    """An inf in one window must not turn other windows into NaN (no 0·inf anywhere)."""
    x = _x((1, 1, 7, 5))
    x[0, 0, 3, 2] = np.inf
    yc = F.adaptive_avg_pool2d(cr.tensor(x), (3, 2)).numpy()
    assert not np.isnan(yc).any()
    np.testing.assert_allclose(yc, TF.adaptive_avg_pool2d(torch.tensor(x), (3, 2)).numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------------------------ interpolate
INTERP = [dict(size=(13, 7)), dict(scale_factor=2), dict(scale_factor=1.7), dict(size=(4, 3)),
          dict(scale_factor=(0.5, 2.5)), dict(scale_factor=1.7, recompute_scale_factor=True), dict(size=5)]


@needs_torch
@pytest.mark.parametrize("kw", INTERP)
@pytest.mark.parametrize("mode, ac", [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                                      ("bilinear", True)])
def test_interpolate_2d_matches_torch(kw, mode, ac):
    check_torch(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw),
                lambda x: TF.interpolate(x, mode=mode, align_corners=ac, **kw), [_x((2, 3, 9, 10))])


@needs_torch
@pytest.mark.parametrize("mode, ac", [("nearest", None), ("linear", False), ("linear", True)])
@pytest.mark.parametrize("kw", [dict(scale_factor=2.3), dict(size=4), dict(size=20)])
def test_interpolate_1d_matches_torch(kw, mode, ac):
    check_torch(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw),
                lambda x: TF.interpolate(x, mode=mode, align_corners=ac, **kw), [_x((2, 3, 11))])


@needs_torch
@pytest.mark.parametrize("kw", [dict(size=(5, 3, 7), mode="trilinear"), dict(scale_factor=1.5, mode="trilinear",
                                align_corners=True), dict(size=(5, 3, 7)), dict(scale_factor=2, mode="nearest-exact")])
def test_interpolate_3d_matches_torch(kw):
    check_torch(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [_x((1, 2, 3, 4, 5))])


@needs_torch
def test_interpolate_nearest_float32_index_rounding():
    """torch computes nearest source indices in float32; sizes where that differs from exact arithmetic."""
    for n_in, n_out in [(7, 3), (10, 3), (17, 13), (29, 87), (100, 33)]:
        x = _x((1, 1, n_in)).astype(np.float32)
        np.testing.assert_array_equal(F.interpolate(cr.tensor(x), size=n_out).numpy(),
                                      TF.interpolate(torch.tensor(x), size=n_out).numpy())


@needs_torch
def test_upsample_module():
    for kw in [dict(scale_factor=2), dict(size=(5, 6), mode="bilinear", align_corners=True),
               dict(scale_factor=(1.5, 2.0), mode="bilinear")]:
        cm, tm = nn.Upsample(**kw), torch.nn.Upsample(**kw)
        assert repr(cm) == repr(tm)
        check_module(cm, tm, _x((2, 3, 4, 5)))


# ------------------------------------------------------------------------------------------------ gradcheck
def test_pool_gradcheck():
    x = [_x((2, 2, 5, 6))]
    check_gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x)
    check_gradcheck(lambda x: F.max_pool2d(x, 2, 1, dilation=2), x)
    check_gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    check_gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), x)
    check_gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), x)
    check_gradcheck(lambda x: F.interpolate(x, size=(7, 4), mode="nearest"), x)
    x1 = [_x((2, 3, 7))]
    check_gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), x1)
    check_gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1), x1)
    check_gradcheck(lambda x: F.adaptive_avg_pool1d(x, 3), x1)
    check_gradcheck(lambda x: F.interpolate(x, size=10, mode="linear", align_corners=True), x1)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, 1, 1) ** 2,
    lambda x: F.max_pool2d(x, 2) ** 2,
    lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 2,
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2,
    lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear") ** 2,
    lambda x: F.interpolate(x, size=(6, 3)) ** 2,
])
def test_pool_gradgradcheck(fn):
    x = cr.tensor(_x((1, 2, 4, 5)), requires_grad=True)
    assert cr.autograd.gradgradcheck(fn, [x])


@needs_torch
def test_maxpool_second_derivative_matches_torch():
    x = _x((2, 2, 6, 6))
    out = []
    for lib, pool in ((cr, F.max_pool2d), (torch, TF.max_pool2d)):
        xs = lib.tensor(x, requires_grad=True)
        y = pool(xs * xs, 3, 2, 1)
        gx, = lib.autograd.grad((y ** 3).sum(), [xs], create_graph=True)
        (gx * gx).sum().backward()
        out.append(xs.grad.detach().numpy())
    np.testing.assert_allclose(out[0], out[1], atol=1e-9)


# ------------------------------------------------------------------------------------------------ errors
def test_errors_name_layer_and_shapes():
    with pytest.raises(ShapeError, match=r"MaxPool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), "
                                         r"got \(5,\)"):
        nn.MaxPool2d(2)(cr.zeros(5))
    with pytest.raises(ShapeError, match=r"AvgPool1d: expected input of shape \(N, C, L\) or \(C, L\), got "
                                         r"\(1, 2, 3, 4\)"):
        nn.AvgPool1d(2)(cr.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match="padding should be at most half of the kernel size"):
        F.max_pool2d(cr.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ShapeError, match=r"max_pool2d: input of shape \(1, 1, 2, 2\) is too small for "
                                         r"kernel_size=3.*output size would be \(0, 0\)"):
        F.max_pool2d(cr.zeros(1, 1, 2, 2), 3)
    with pytest.raises(DTypeError, match="avg_pool2d: input must be a floating-point tensor, got chainrule.int64"):
        F.avg_pool2d(cr.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ShapeError, match=r"adaptive_avg_pool2d: expected a 3-D .* or 4-D .* input, got shape"):
        F.adaptive_avg_pool2d(cr.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(cr.zeros(1, 1, 4, 4), size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set with the interpolating modes"):
        F.interpolate(cr.zeros(1, 1, 4, 4), size=3, align_corners=True)
    with pytest.raises(ShapeError, match=r"mode 'bilinear' needs a 4-D input, got shape \(1, 1, 4\)"):
        F.interpolate(cr.zeros(1, 1, 4), size=3, mode="bilinear")
    with pytest.raises(NotImplementedError, match="mode 'bicubic' is not supported"):
        F.interpolate(cr.zeros(1, 1, 4, 4), size=3, mode="bicubic")


@pytest.mark.parametrize("pool", [lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                                  lambda x: F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False),
                                  lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
                                  lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear")])
def test_first_order_grads_equal_create_graph_grads(pool):
    """One backward text for both carriers: loss.backward() gives bit for bit the float32 gradient that
    autograd.grad(..., create_graph=True) gives."""
    x = cr.tensor(np.random.default_rng(5).standard_normal((2, 3, 7, 6)).astype(np.float32), requires_grad=True)
    (pool(x) ** 2).sum().backward()
    (second,) = cr.autograd.grad((pool(x) ** 2).sum(), (x,), create_graph=True)
    assert second.requires_grad
    assert x.grad.numpy().tobytes() == second.detach().numpy().tobytes()
