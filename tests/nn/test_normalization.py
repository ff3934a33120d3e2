"""Normalisation layers (LayerNorm, RMSNorm, GroupNorm, BatchNorm1d/2d/3d) against PyTorch.

Each layer: weights copied from a torch layer (whose weights are first randomised, so a ones/zeros init
cannot hide a bug) through ``load_state_dict``; forward values, input and every parameter gradient compared
in float64, in train and eval mode; BatchNorm's running statistics after several train steps, then eval
outputs. The functionals: float64 gradcheck, gradgradcheck for the fused node's create_graph path.
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import check_gradcheck, check_torch, needs_torch, torch

ATOL = 1e-10


def _randomise(tmod, seed=0):
    """Give the torch module's floating parameters random values (in place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5 + (1.0 if p.ndim else 0.0))


def _load_from_torch(cmod, tmod):
    sd = {k: v.detach().numpy() for k, v in tmod.state_dict().items()}
    assert list(sd) == list(cmod.state_dict()), "state-dict names differ from PyTorch's"
    cmod.load_state_dict(sd)


def compare(cmod, tmod, x, train=True, seed=3, atol=ATOL):
    """Forward x through both modules, backward a random gradient, compare output and all gradients."""
    cmod.train(train)
    tmod.train(train)
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yc, yt = cmod(xc), tmod(xt)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=1e-8)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=1e-7, err_msg="input grad")
    tparams = dict(tmod.named_parameters())
    for name, p in cmod.named_parameters():
        tp = tparams[name]
        assert (p.grad is None) == (tp.grad is None), name
        if tp.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=atol, rtol=1e-7, err_msg=name)
    tbufs = dict(tmod.named_buffers())
    for name, b in cmod.named_buffers():
        np.testing.assert_allclose(b.numpy(), tbufs[name].numpy(), atol=atol, rtol=1e-10, err_msg=name)
    cmod.zero_grad()
    tmod.zero_grad()


def _x(shape, seed=0, scale=2.0, shift=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale + shift


# ------------------------------------------------------------------------------------------------ LayerNorm
@needs_torch
@pytest.mark.parametrize("shape, ns", [((4, 5), 5), ((2, 3, 6), (6,)), ((2, 3, 4), (3, 4)), ((7,), 7),
                                       ((2, 1, 3), 3)])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_layernorm_matches_torch(shape, ns, affine, bias):
    tmod = torch.nn.LayerNorm(ns, elementwise_affine=affine, bias=bias)
    cmod = nn.LayerNorm(ns, elementwise_affine=affine, bias=bias).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    for train in (True, False):
        compare(cmod, tmod, _x(shape), train=train)


@needs_torch
def test_layernorm_defaults_and_repr():
    for args, kw in [((5,), {}), (((5, 6),), {}), (([3, 4],), {"eps": 1e-3, "bias": False}),
                     (((4,),), {"elementwise_affine": False})]:
        c, t = nn.LayerNorm(*args, **kw), torch.nn.LayerNorm(*args, **kw)
        assert repr(c) == repr(t)
        assert c.normalized_shape == t.normalized_shape
        assert list(c.state_dict()) == list(t.state_dict())
        for k, v in t.state_dict().items():
            np.testing.assert_array_equal(c.state_dict()[k].numpy(), v.numpy())
            assert c.state_dict()[k].dtype == cr.float32


@needs_torch
def test_layernorm_float32_close_to_torch():
    x = _x((8, 16)).astype(np.float32)
    c, t = nn.LayerNorm(16), torch.nn.LayerNorm(16)
    t.float()
    _randomise(t)
    _load_from_torch(c, t)
    yc = c(cr.tensor(x))
    assert yc.dtype == cr.float32
    np.testing.assert_allclose(yc.detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_layernorm_functional_gradcheck():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    check_gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), [x, w, b])
    check_gradcheck(lambda x: F.layer_norm(x, (2, 4)), [rng.standard_normal((3, 2, 4))])


def test_layernorm_gradgradcheck():
    rng = np.random.default_rng(1)
    xs = [cr.tensor(a, requires_grad=True) for a in (rng.standard_normal((2, 5)), rng.standard_normal(5),
                                                      rng.standard_normal(5))]
    assert cr.autograd.gradgradcheck(lambda x, w, b: F.layer_norm(x, (5,), w, b), xs)
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: F.layer_norm(x, 4), [x])


@needs_torch
def test_layernorm_double_backward_matches_torch():
    x = _x((3, 4))
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w = _x(4, seed=5)
    wc, wt = cr.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    gc = cr.autograd.grad((F.layer_norm(xc, (4,), wc) ** 3).sum(), [xc, wc], create_graph=True)
    gt = torch.autograd.grad((torch.nn.functional.layer_norm(xt, (4,), wt) ** 3).sum(), [xt, wt], create_graph=True)
    (gc[0].sum() + (gc[1] ** 2).sum()).backward()
    (gt[0].sum() + (gt[1] ** 2).sum()).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), atol=1e-9)


def test_layernorm_wrong_shape_error():
    ln = nn.LayerNorm(10)
    with pytest.raises(RuntimeError, match=r"expected an input of shape \[\*, 10\], got \(3, 5\)"):
        ln(cr.randn(3, 5))
    with pytest.raises(TypeError, match="floating point"):
        F.layer_norm(cr.tensor([[1, 2]]), 2)


def test_layernorm_output_is_independent_of_saved_state():
    # without affine the output array must not be the one backward keeps: writing into y must not change dx
    x = cr.tensor(_x((2, 3)), requires_grad=True)
    y = F.layer_norm(x, 3)
    ref = cr.autograd.grad((y * cr.tensor([1.0, 2.0, 3.0])).sum(), x, retain_graph=True)[0].numpy().copy()
    y2 = F.layer_norm(x, 3)
    loss = (y2 * cr.tensor([1.0, 2.0, 3.0])).sum()
    y2.detach()._data[...] = 7.0            # an untracked write into the output
    np.testing.assert_allclose(cr.autograd.grad(loss, x)[0].numpy(), ref)


# ------------------------------------------------------------------------------------------------ RMSNorm
@needs_torch
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rmsnorm_matches_torch(eps):
    tmod, cmod = torch.nn.RMSNorm(6, eps=eps), nn.RMSNorm(6, eps=eps).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    assert repr(cmod) == repr(tmod)
    compare(cmod, tmod, _x((3, 2, 6)))


# ------------------------------------------------------------------------------------------------ GroupNorm
@needs_torch
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4), 4), ((2, 6, 3), 1),
                                           ((2, 6, 2, 2), 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm_matches_torch(shape, groups, affine):
    c = shape[1]
    tmod, cmod = torch.nn.GroupNorm(groups, c, affine=affine), nn.GroupNorm(groups, c, affine=affine).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    assert repr(cmod) == repr(tmod)
    for train in (True, False):
        compare(cmod, tmod, _x(shape), train=train)


@needs_torch
def test_groupnorm_no_bias_matches_torch():
    tmod, cmod = torch.nn.GroupNorm(2, 4, bias=False), nn.GroupNorm(2, 4, bias=False).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    assert repr(cmod) == repr(tmod)
    compare(cmod, tmod, _x((3, 4, 5)))


def test_groupnorm_gradcheck_and_errors():
    rng = np.random.default_rng(2)
    check_gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b),
                    [rng.standard_normal((2, 4, 3)), rng.standard_normal(4), rng.standard_normal(4)])
    x = cr.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: F.group_norm(x, 2), [x])
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match=r"expected 4 input channels \(num_channels\) at dim 1, got 6 "
                                           r"\(input of shape \(2, 6\)\)"):
        nn.GroupNorm(2, 4)(cr.randn(2, 6))


# ------------------------------------------------------------------------------------------------ BatchNorm
BN_CASES = [(nn.BatchNorm1d, "BatchNorm1d", (8, 3)), (nn.BatchNorm1d, "BatchNorm1d", (4, 3, 5)),
            (nn.BatchNorm2d, "BatchNorm2d", (4, 3, 2, 5)), (nn.BatchNorm3d, "BatchNorm3d", (2, 3, 2, 2, 3))]


@needs_torch
@pytest.mark.parametrize("ccls, tname, shape", BN_CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_train_steps_then_eval_match_torch(ccls, tname, shape, momentum):
    c = shape[1]
    tmod = getattr(torch.nn, tname)(c, momentum=momentum)
    cmod = ccls(c, momentum=momentum).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    for step in range(3):                      # compare() also checks the buffers after each step
        compare(cmod, tmod, _x(shape, seed=step, scale=1 + step, shift=step - 1.0), train=True)
    assert int(cmod.num_batches_tracked.item()) == 3
    for step in range(2):
        compare(cmod, tmod, _x(shape, seed=10 + step), train=False)


@needs_torch
@pytest.mark.parametrize("affine, track", [(False, True), (True, False), (False, False)])
def test_batchnorm_options_match_torch(affine, track):
    tmod = torch.nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    cmod = nn.BatchNorm2d(3, affine=affine, track_running_stats=track).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    assert repr(cmod) == repr(tmod)
    for step in range(2):
        compare(cmod, tmod, _x((4, 3, 2, 2), seed=step), train=True)
    compare(cmod, tmod, _x((4, 3, 2, 2), seed=9), train=False)   # no running stats: batch stats in eval


@needs_torch
def test_batchnorm_no_bias_and_repr_and_state_dict():
    for args, kw in [((4,), {}), ((4,), {"eps": 1e-3, "momentum": None}), ((2,), {"bias": False})]:
        for name, ccls in (("BatchNorm1d", nn.BatchNorm1d), ("BatchNorm2d", nn.BatchNorm2d)):
            c, t = ccls(*args, **kw), getattr(torch.nn, name)(*args, **kw)
            assert repr(c) == repr(t)
            sd_c, sd_t = c.state_dict(), t.state_dict()
            assert list(sd_c) == list(sd_t)
            for k in sd_t:
                np.testing.assert_array_equal(sd_c[k].numpy(), sd_t[k].numpy())
                # (the oracle makes torch's default dtype float64; chainrule's default is float32)
                assert sd_c[k].dtype == (cr.int64 if k == "num_batches_tracked" else cr.float32), k
    tmod, cmod = torch.nn.BatchNorm1d(3, bias=False), nn.BatchNorm1d(3, bias=False).double()
    _randomise(tmod)
    _load_from_torch(cmod, tmod)
    compare(cmod, tmod, _x((5, 3)), train=True)
    compare(cmod, tmod, _x((5, 3), seed=1), train=False)


@needs_torch
def test_batchnorm_load_state_dict_from_trained_torch_module():
    tmod = torch.nn.BatchNorm1d(3)
    _randomise(tmod)
    for s in range(3):
        tmod(torch.tensor(_x((6, 3), seed=s)))
    cmod = nn.BatchNorm1d(3).double()
    _load_from_torch(cmod, tmod)
    assert int(cmod.num_batches_tracked.item()) == 3
    compare(cmod, tmod, _x((6, 3), seed=7), train=False)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_gradcheck(training):
    rng = np.random.default_rng(4)
    rm, rv = cr.tensor(rng.standard_normal(3)), cr.tensor(rng.uniform(0.5, 2, 3))

    def f(x, w, b):
        # copies: gradcheck calls f many times and training updates the running stats in place
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training, momentum=0.1)

    check_gradcheck(f, [rng.standard_normal((4, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)])


def test_batch_norm_gradgradcheck():
    rng = np.random.default_rng(5)
    xs = [cr.tensor(a, requires_grad=True) for a in (rng.standard_normal((4, 3)), rng.standard_normal(3),
                                                      rng.standard_normal(3))]
    assert cr.autograd.gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), xs)


@needs_torch
def test_batch_norm_functional_matches_torch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 2, 3))
    rm, rv = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    rmc, rvc, rmt, rvt = cr.tensor(rm), cr.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    check_torch(lambda x, w, b: F.batch_norm(x, rmc, rvc, w, b, True, 0.2, 1e-3),
                lambda x, w, b: torch.nn.functional.batch_norm(x, rmt, rvt, w, b, True, 0.2, 1e-3),
                [x, rng.standard_normal(2), rng.standard_normal(2)])
    np.testing.assert_allclose(rmc.numpy(), rmt.numpy(), atol=1e-12)
    np.testing.assert_allclose(rvc.numpy(), rvt.numpy(), atol=1e-12)
    check_torch(lambda x: F.batch_norm(x, rmc, rvc, training=False),
                lambda x: torch.nn.functional.batch_norm(x, rmt, rvt, training=False), [x])


def test_batchnorm_errors():
    with pytest.raises(RuntimeError, match=r"BatchNorm2d: expected a 4D \(N, C, H, W\) input, got a 3D"):
        nn.BatchNorm2d(3)(cr.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match=r"BatchNorm1d: expected a 2D \(N, C\) or 3D \(N, C, L\) input"):
        nn.BatchNorm1d(3)(cr.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match=r"BatchNorm1d: expected 3 input channels \(num_features\) at dim 1, "
                                           r"got 4 \(input of shape \(2, 4\)\)"):
        nn.BatchNorm1d(3)(cr.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"BatchNorm2d: expected 3 input channels \(num_features\) at dim 1, "
                                           r"got 2"):
        nn.BatchNorm2d(3)(cr.randn(2, 2, 4, 4))
    with pytest.raises(RuntimeError, match=r"GroupNorm: expected 4 input channels \(num_channels\) at dim 1, "
                                           r"got 6 \(input of shape \(4, 6, 2\)\)"):
        nn.GroupNorm(2, 4)(cr.randn(4, 6, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.randn(1, 3))
    bn = nn.BatchNorm1d(3).eval()
    assert bn(cr.randn(1, 3)).shape == (1, 3)     # a single sample is fine in eval mode


def test_batchnorm_float32_buffers_stay_float32():
    bn = nn.BatchNorm1d(3)
    bn(cr.randn(4, 3))
    assert bn.running_mean.dtype == cr.float32 and bn.running_var.dtype == cr.float32
    assert bn.num_batches_tracked.dtype == cr.int64
    assert not bn.running_mean.requires_grad


# ---------------------------------------------------------------------- the written-once rules (NormalizeGrad)
def _norm_cases(rng):
    def T(*s):
        return cr.tensor(rng.standard_normal(s), dtype=cr.float64, requires_grad=True)
    rm, rv = cr.tensor(rng.standard_normal(3)), cr.tensor(rng.random(3) + 0.5)
    return [
        ("layer_norm", lambda x, w, b: F.layer_norm(x, (5,), w, b), (T(3, 4, 5), T(5), T(5))),
        ("layer_norm 2 dims, no affine", lambda x: F.layer_norm(x, (4, 5)), (T(3, 4, 5),)),
        ("batch_norm train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         (T(4, 3, 2, 2), T(3), T(3))),
        ("batch_norm eval", lambda x, w, b: F.batch_norm(x, rm.double(), rv.double(), w, b, training=False),
         (T(4, 3, 2, 2), T(3), T(3))),
        ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), (T(2, 4, 3), T(4), T(4))),
    ]


@pytest.mark.parametrize("case", range(5))
def test_normalization_first_order_equals_create_graph_and_gradgradcheck(case):
    rng = np.random.default_rng(case)
    name, f, args = _norm_cases(rng)[case]
    gy = cr.tensor(rng.standard_normal(tuple(f(*args).shape)), dtype=cr.float64)
    first = cr.autograd.grad(f(*args), args, gy)
    graph = cr.autograd.grad(f(*args), args, gy, create_graph=True)
    for a, b in zip(first, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert cr.autograd.gradgradcheck(f, args), name
