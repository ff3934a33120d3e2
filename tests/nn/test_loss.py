"""Loss functions and modules against PyTorch: values and gradients (of the input, and of the target where
PyTorch has one) in float64, for every reduction and option; float64 gradcheck of each functional;
gradgradcheck for the fused nodes' create_graph paths; stability at logits of ±1e4; clear errors."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import check_gradcheck, check_torch, needs_torch, torch

if torch is not None:
    TF = torch.nn.functional

REDUCTIONS = ["none", "mean", "sum"]
RNG = np.random.default_rng(0)


def _r(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)


def _idx(n, c, seed=0, shape=None):
    return np.random.default_rng(seed).integers(0, c, shape or (n,))


# ----------------------------------------------------------------------------------- regression losses
REGRESSION = [
    ("mse", {}, lambda x, y, **k: F.mse_loss(x, y, **k), lambda x, y, **k: TF.mse_loss(x, y, **k)),
    ("l1", {}, lambda x, y, **k: F.l1_loss(x, y, **k), lambda x, y, **k: TF.l1_loss(x, y, **k)),
    ("smooth_l1", {"beta": 1.0}, lambda x, y, **k: F.smooth_l1_loss(x, y, **k),
     lambda x, y, **k: TF.smooth_l1_loss(x, y, **k)),
    ("smooth_l1", {"beta": 0.3}, lambda x, y, **k: F.smooth_l1_loss(x, y, **k),
     lambda x, y, **k: TF.smooth_l1_loss(x, y, **k)),
    ("smooth_l1", {"beta": 0.0}, lambda x, y, **k: F.smooth_l1_loss(x, y, **k),
     lambda x, y, **k: TF.smooth_l1_loss(x, y, **k)),
    ("huber", {"delta": 1.0}, lambda x, y, **k: F.huber_loss(x, y, **k), lambda x, y, **k: TF.huber_loss(x, y, **k)),
    ("huber", {"delta": 2.5}, lambda x, y, **k: F.huber_loss(x, y, **k), lambda x, y, **k: TF.huber_loss(x, y, **k)),
]


@needs_torch
@pytest.mark.parametrize("name, opts, fc, ft", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(name, opts, fc, ft, reduction):
    x, y = _r(4, 5, seed=1) * 2, _r(4, 5, seed=2) * 2      # |x - y| spans both sides of beta / delta
    check_torch(lambda x, y: fc(x, y, reduction=reduction, **opts), lambda x, y: ft(x, y, reduction=reduction, **opts),
                [x, y])


@needs_torch
@pytest.mark.parametrize("cname, tname, opts", [("MSELoss", "MSELoss", {}), ("L1Loss", "L1Loss", {}),
                                                ("SmoothL1Loss", "SmoothL1Loss", {"beta": 0.5}),
                                                ("HuberLoss", "HuberLoss", {"delta": 0.7})])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_modules_match_torch(cname, tname, opts, reduction):
    c, t = getattr(nn, cname)(reduction=reduction, **opts), getattr(torch.nn, tname)(reduction=reduction, **opts)
    assert repr(c) == repr(t)
    check_torch(c, t, [_r(3, 4, seed=3), _r(3, 4, seed=4)])


@needs_torch
@pytest.mark.parametrize("fname", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weighted_match_torch(fname, reduction):
    w = _r(3, 4, seed=9, low=0.1, high=2.0)
    fc, ft = getattr(F, fname), getattr(TF, fname)
    check_torch(lambda x, y: fc(x, y, reduction=reduction, weight=cr.tensor(w)),
                lambda x, y: ft(x, y, reduction=reduction, weight=torch.tensor(w)), [_r(3, 4, seed=5), _r(3, 4, seed=6)])


@needs_torch
def test_mse_broadcast_warns_like_torch():
    x, y = _r(3, 4), _r(4, seed=1)
    with pytest.warns(UserWarning, match="target size"):
        check_torch(lambda x, y: F.mse_loss(x, y), lambda x, y: TF.mse_loss(x, y), [x, y])
    with pytest.raises(RuntimeError, match=r"mse_loss: the input of shape \(3, 4\) and the target of shape \(3,\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            F.mse_loss(cr.tensor(x), cr.tensor(_r(3)))


@pytest.mark.parametrize("fn", [lambda x, y: F.mse_loss(x, y), lambda x, y: F.l1_loss(x, y, reduction="sum"),
                                lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
                                lambda x, y: F.huber_loss(x, y, delta=0.8, reduction="none")])
def test_regression_gradcheck(fn):
    check_gradcheck(fn, [_r(3, 4, seed=7) * 2, _r(3, 4, seed=8) * 2])


def test_mse_gradgradcheck():
    xs = [cr.tensor(_r(3, 2, seed=s), requires_grad=True) for s in (1, 2)]
    assert cr.autograd.gradgradcheck(lambda x, y: F.mse_loss(x, y), xs)


# ----------------------------------------------------------------------------------- cross-entropy / nll
CE_CASES = [
    ({}, (5, 4)),
    ({"weight": True}, (5, 4)),
    ({"ignore_index": 2}, (6, 4)),
    ({"label_smoothing": 0.2}, (5, 4)),
    ({"label_smoothing": 0.1, "weight": True, "ignore_index": 1}, (6, 4)),
    ({}, (3, 4, 2, 3)),
    ({"weight": True, "label_smoothing": 0.3}, (2, 4, 5)),
    ({}, (4,)),                                                  # unbatched: input (C,), target ()
]


def _ce_args(opts, shape, seed=0):
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = np.random.default_rng(seed).integers(0, c, tshape)
    if "ignore_index" in opts:
        t.reshape(-1)[::3] = opts["ignore_index"]
    w = np.random.default_rng(seed + 1).uniform(0.2, 2.0, c) if opts.get("weight") else None
    return t, w


@needs_torch
@pytest.mark.parametrize("opts, shape", CE_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_indices_match_torch(opts, shape, reduction):
    t, w = _ce_args(opts, shape)
    kw = {k: v for k, v in opts.items() if k != "weight"}
    check_torch(lambda x: F.cross_entropy(x, cr.tensor(t), weight=None if w is None else cr.tensor(w),
                                          reduction=reduction, **kw),
                lambda x: TF.cross_entropy(x, torch.tensor(t), weight=None if w is None else torch.tensor(w),
                                           reduction=reduction, **kw), [_r(*shape, seed=3)])


@needs_torch
@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.25}, {"weight": True}, {"weight": True, "label_smoothing": 0.1}])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_match_torch(opts, shape, reduction):
    p = np.random.default_rng(1).dirichlet(np.ones(shape[1]), size=(shape[0],) + shape[2:])
    p = np.moveaxis(p, -1, 1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, shape[1]) if opts.get("weight") else None
    ls = opts.get("label_smoothing", 0.0)
    check_torch(lambda x, p: F.cross_entropy(x, p, weight=None if w is None else cr.tensor(w), reduction=reduction,
                                             label_smoothing=ls),
                lambda x, p: TF.cross_entropy(x, p, weight=None if w is None else torch.tensor(w), reduction=reduction,
                                              label_smoothing=ls), [_r(*shape, seed=4), p])


@needs_torch
@pytest.mark.parametrize("opts, shape", CE_CASES[:5])
def test_cross_entropy_module_matches_torch(opts, shape):
    t, w = _ce_args(opts, shape, seed=5)
    kw = {k: v for k, v in opts.items() if k != "weight"}
    c = nn.CrossEntropyLoss(weight=None if w is None else cr.tensor(w), **kw)
    tm = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.tensor(w), **kw)
    assert repr(c) == repr(tm)
    assert list(c.state_dict()) == list(tm.state_dict())
    check_torch(lambda x: c(x, cr.tensor(t)), lambda x: tm(x, torch.tensor(t)), [_r(*shape, seed=6)])


@needs_torch
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_stable_at_huge_logits(label_smoothing):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.0, 0.0, -1e4]])
    t = np.array([1, 1, 2])
    check_torch(lambda x: F.cross_entropy(x, cr.tensor(t), label_smoothing=label_smoothing),
                lambda x: TF.cross_entropy(x, torch.tensor(t), label_smoothing=label_smoothing), [x])
    xc = cr.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xc, cr.tensor(t), label_smoothing=label_smoothing)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(xc.grad.numpy()))


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"reduction": "sum", "ignore_index": 0},
                                {"reduction": "none"}])
def test_cross_entropy_gradcheck_and_gradgradcheck(kw):
    t = cr.tensor([0, 2, 1, 2])
    w = cr.tensor([0.5, 1.0, 2.0], dtype=cr.float64)
    fn = lambda x: F.cross_entropy(x, t, weight=w, **kw)   # noqa: E731
    check_gradcheck(fn, [_r(4, 3, seed=8)])
    x = cr.tensor(_r(4, 3, seed=9), requires_grad=True)
    assert cr.autograd.gradgradcheck(fn, [x])


@needs_torch
def test_cross_entropy_double_backward_matches_torch():
    x, t = _r(4, 3, seed=10), np.array([0, 2, 1, 1])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (gc,) = cr.autograd.grad(F.cross_entropy(xc, cr.tensor(t), label_smoothing=0.1), xc, create_graph=True)
    (gt,) = torch.autograd.grad(TF.cross_entropy(xt, torch.tensor(t), label_smoothing=0.1), xt, create_graph=True)
    (gc ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_cross_entropy_errors():
    x = cr.randn(3, 4)
    with pytest.raises(IndexError, match=r"target value 4 is out of range for 4 classes"):
        F.cross_entropy(x, cr.tensor([0, 1, 4]))
    with pytest.raises(IndexError, match="out of range"):
        nn.CrossEntropyLoss()(x, cr.tensor([0, -1, 2]))
    with pytest.raises(RuntimeError, match=r"expects a target of shape \(3,\) \(class indices\), got \(3, 1\)"):
        F.cross_entropy(x, cr.tensor([[0], [1], [2]]))
    with pytest.raises(RuntimeError, match=r"probability targets must have the input's shape \(3, 4\), got \(3, 5\)"):
        F.cross_entropy(x, cr.rand(3, 5))
    with pytest.raises(TypeError, match="target must be class indices"):
        F.cross_entropy(x, cr.tensor([True, False, True]))
    with pytest.raises(RuntimeError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), weight=cr.ones(3))


def test_cross_entropy_refuses_integer_logits():
    """Integer logits gave a truncated integer loss (tensor(3) for 3.1597); PyTorch raises."""
    x, t = cr.tensor([[1, 2, 3], [3, 2, 1]]), cr.tensor([0, 1])
    with pytest.raises(TypeError, match=r"cross_entropy: input must be floating point .*int64 of shape "
                                        r"\(2, 3\)\. Fix: input.float\(\)"):
        F.cross_entropy(x, t)
    with pytest.raises(TypeError, match="floating point"):
        nn.CrossEntropyLoss()(x, cr.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))
    with pytest.raises(TypeError, match=r"nll_loss: input must be floating point"):
        F.nll_loss(x, t)
    lse = np.log(np.exp([1.0, 2.0, 3.0]).sum())                              # both rows' log-sum-exp
    assert np.isclose(F.cross_entropy(x.double(), t).item(), ((lse - 1) + (lse - 2)) / 2)


@pytest.mark.parametrize("x, t", [((3, 4), (3,)), ((2, 4, 5), (2, 5)), ((4,), ())])
def test_cross_entropy_float_class_indices_say_use_long(x, t):
    with pytest.raises(TypeError, match=r"class indices, which must be integers .* Fix: target.long\(\)"):
        F.cross_entropy(cr.randn(*x), cr.zeros(*t))


@pytest.mark.parametrize("eps", [-0.1, 1.5])
def test_cross_entropy_label_smoothing_outside_0_1_raises(eps):
    x = cr.randn(3, 4)
    with pytest.raises(ValueError, match=f"label_smoothing must be between 0.0 and 1.0, got {eps}"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), label_smoothing=eps)
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=eps)(x, cr.softmax(cr.randn(3, 4), 1))
    for ok in (0.0, 1.0):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), label_smoothing=ok)


NLL_CASES = [({}, (5, 4)), ({"weight": True}, (5, 4)), ({"ignore_index": 1}, (6, 3)),
             ({"weight": True, "ignore_index": 0}, (3, 4, 2)), ({}, (4,))]


@needs_torch
@pytest.mark.parametrize("opts, shape", NLL_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(opts, shape, reduction):
    t, w = _ce_args(opts, shape, seed=11)
    kw = {k: v for k, v in opts.items() if k != "weight"}
    c = nn.NLLLoss(weight=None if w is None else cr.tensor(w), reduction=reduction, **kw)
    tm = torch.nn.NLLLoss(weight=None if w is None else torch.tensor(w), reduction=reduction, **kw)
    check_torch(lambda x: c(x.log_softmax(1 if x.ndim > 1 else 0), cr.tensor(t)),
                lambda x: tm(x.log_softmax(1 if x.ndim > 1 else 0), torch.tensor(t)), [_r(*shape, seed=12)])
    check_torch(lambda x: F.nll_loss(x, cr.tensor(t), weight=None if w is None else cr.tensor(w),
                                     reduction=reduction, **kw),
                lambda x: TF.nll_loss(x, torch.tensor(t), weight=None if w is None else torch.tensor(w),
                                      reduction=reduction, **kw), [_r(*shape, seed=13)])


def test_nll_loss_gradcheck_and_errors():
    t = cr.tensor([1, 0, 2])
    check_gradcheck(lambda x: F.nll_loss(x, t, weight=cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64)), [_r(3, 3)])
    with pytest.raises(TypeError, match=r"target must be class indices \(int64\), got chainrule.float32"):
        F.nll_loss(cr.randn(3, 3), cr.tensor([1.0, 0.0, 2.0]))
    with pytest.raises(IndexError, match="target value 3 is out of range for 3 classes"):
        F.nll_loss(cr.randn(3, 3), cr.tensor([1, 3, 0]))
    with pytest.raises(RuntimeError, match=r"expects a target of shape \(3,\), got \(2,\)"):
        F.nll_loss(cr.randn(3, 3), cr.tensor([1, 0]))
    with pytest.raises(RuntimeError, match=r"weight must have shape \(3,\) \(one per class\), got \(2,\)"):
        F.nll_loss(cr.randn(3, 3), cr.tensor([1, 0, 2]), weight=cr.ones(2))
    with pytest.raises(RuntimeError, match="class dimension"):
        F.nll_loss(cr.tensor(1.0), cr.tensor(0))
    # a plain list of class indices is accepted, as a list of logits-rows would be by cross_entropy
    np.testing.assert_allclose(F.nll_loss(cr.tensor([[-1.0, -2.0]]), [1]).item(), 2.0)


# ----------------------------------------------------------------------------------- binary cross-entropy
@needs_torch
@pytest.mark.parametrize("weight", [None, "full", "row"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_torch(weight, reduction):
    x = _r(4, 3, seed=14, low=0.02, high=0.98)
    y = _r(4, 3, seed=15, low=0.0, high=1.0)
    w = {None: None, "full": _r(4, 3, seed=16, low=0.1, high=2), "row": _r(3, seed=17, low=0.1, high=2)}[weight]
    c = nn.BCELoss(weight=None if w is None else cr.tensor(w), reduction=reduction)
    t = torch.nn.BCELoss(weight=None if w is None else torch.tensor(w), reduction=reduction)
    assert repr(c) == repr(t)
    check_torch(c, t, [x, y])


@needs_torch
def test_bce_log_clamp_and_boundary_gradients_match_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.3])
    check_torch(lambda x: F.binary_cross_entropy(x, cr.tensor(y), reduction="none"),
                lambda x: TF.binary_cross_entropy(x, torch.tensor(y), reduction="none"), [x], rtol=1e-12)


@needs_torch
def test_bce_with_target_grad_matches_torch():
    check_torch(lambda x, y: F.binary_cross_entropy(x, y), lambda x, y: TF.binary_cross_entropy(x, y),
                [_r(3, 4, seed=18, low=0.05, high=0.95), _r(3, 4, seed=19, low=0, high=1)])


def test_bce_gradcheck_gradgradcheck_and_errors():
    x, y = _r(3, 2, seed=20, low=0.1, high=0.9), _r(3, 2, seed=21, low=0, high=1)
    check_gradcheck(lambda x, y: F.binary_cross_entropy(x, y, reduction="sum"), [x, y])
    xs = [cr.tensor(a, requires_grad=True) for a in (x, y)]
    assert cr.autograd.gradgradcheck(lambda x, y: F.binary_cross_entropy(x, y), xs)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([0.5, 1.5]), cr.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"target size \(3, 1\) that is different to the input size \(3,\)"):
        F.binary_cross_entropy(cr.rand(3), cr.rand(3, 1))
    with pytest.raises(TypeError, match="floating point"):
        F.binary_cross_entropy(cr.rand(3), cr.tensor([1, 0, 1]))


@needs_torch
@pytest.mark.parametrize("weight, pos_weight", [(None, None), ("row", None), (None, "col"), ("full", "col")])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(weight, pos_weight, reduction):
    x, y = _r(4, 3, seed=22) * 3, _r(4, 3, seed=23, low=0, high=1)
    w = {None: None, "full": _r(4, 3, seed=24, low=0.1, high=2), "row": _r(3, seed=25, low=0.1, high=2)}[weight]
    pw = None if pos_weight is None else _r(3, seed=26, low=0.2, high=3)
    c = nn.BCEWithLogitsLoss(None if w is None else cr.tensor(w), reduction=reduction,
                             pos_weight=None if pw is None else cr.tensor(pw))
    t = torch.nn.BCEWithLogitsLoss(None if w is None else torch.tensor(w), reduction=reduction,
                                   pos_weight=None if pw is None else torch.tensor(pw))
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())
    check_torch(c, t, [x, y])                       # gradients of input and target


@needs_torch
@pytest.mark.parametrize("pos_weight", [None, [2.0, 0.5, 1.0]])
def test_bce_with_logits_stable_at_huge_logits(pos_weight):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 40.0]])
    y = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.3]])
    pc = None if pos_weight is None else cr.tensor(pos_weight)
    pt = None if pos_weight is None else torch.tensor(pos_weight)
    check_torch(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pc, reduction="none"),
                lambda x, y: TF.binary_cross_entropy_with_logits(x, y, pos_weight=pt, reduction="none"), [x, y],
                rtol=1e-12)
    xc = cr.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xc, cr.tensor(y), pos_weight=pc)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(xc.grad.numpy()))


@pytest.mark.parametrize("pos_weight", [None, [2.0, 0.5]])
def test_bce_with_logits_gradcheck_and_gradgradcheck(pos_weight):
    pw = None if pos_weight is None else cr.tensor(pos_weight, dtype=cr.float64)
    w = cr.tensor([0.5, 1.5], dtype=cr.float64)
    fn = lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw)   # noqa: E731
    x, y = _r(3, 2, seed=27) * 2, _r(3, 2, seed=28, low=0, high=1)
    check_gradcheck(fn, [x, y])
    xs = [cr.tensor(a, requires_grad=True) for a in (x, y)]
    assert cr.autograd.gradgradcheck(fn, xs)


@needs_torch
def test_bce_with_logits_double_backward_matches_torch():
    x, y, pw = _r(3, 2, seed=29), _r(3, 2, seed=30, low=0, high=1), np.array([2.0, 0.3])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (gc,) = cr.autograd.grad(F.binary_cross_entropy_with_logits(xc, cr.tensor(y), pos_weight=cr.tensor(pw)), xc,
                             create_graph=True)
    (gt,) = torch.autograd.grad(TF.binary_cross_entropy_with_logits(xt, torch.tensor(y), pos_weight=torch.tensor(pw)),
                                xt, create_graph=True)
    (gc ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match=r"target size \(3, 1\) must be the same as input size \(3,\)"):
        F.binary_cross_entropy_with_logits(cr.randn(3), cr.rand(3, 1))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.binary_cross_entropy_with_logits(cr.randn(3), cr.rand(3), weight=cr.rand(3, requires_grad=True))
    with pytest.raises(RuntimeError, match=r"pos_weight of shape \(4,\) cannot be broadcast to the input's shape"):
        F.binary_cross_entropy_with_logits(cr.randn(2, 3), cr.rand(2, 3), pos_weight=cr.rand(4))


# ----------------------------------------------------------------------------------- KL divergence
@needs_torch
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
def test_kl_div_matches_torch(log_target, reduction):
    x = np.log(np.random.default_rng(31).dirichlet(np.ones(4), size=3))
    p = np.random.default_rng(32).dirichlet(np.ones(4), size=3)
    t = np.log(p) if log_target else p
    c, tm = nn.KLDivLoss(reduction=reduction, log_target=log_target), torch.nn.KLDivLoss(reduction=reduction,
                                                                                        log_target=log_target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # torch warns about reduction='mean'
        check_torch(c, tm, [x, t])


@needs_torch
def test_kl_div_zero_targets_match_torch():
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    t = np.array([[0.0, 0.4, 0.6], [0.5, 0.5, 0.0]])
    check_torch(lambda x: F.kl_div(x, cr.tensor(t), reduction="batchmean"),
                lambda x: TF.kl_div(x, torch.tensor(t), reduction="batchmean"), [x])


def test_kl_div_gradcheck_and_errors():
    check_gradcheck(lambda x, t: F.kl_div(x, t, reduction="batchmean"),
                    [_r(3, 4, seed=33), _r(3, 4, seed=34, low=0.1, high=1)])
    check_gradcheck(lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True), [_r(3, 4, seed=35), _r(3, 4)])
    with pytest.raises(ValueError, match="reduction must be"):
        F.kl_div(cr.randn(2), cr.rand(2), reduction="avg")


# ----------------------------------------------------------------------------------- margin losses
@needs_torch
@pytest.mark.parametrize("shape", [(5, 3), (4,)])
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss_matches_torch(shape, margin, reduction):
    y = np.array([1, -1, -1, 1, -1])[: shape[0]] if len(shape) == 2 else np.array(-1)
    c = nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    t = torch.nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    check_torch(lambda a, b: c(a, b, cr.tensor(y)), lambda a, b: t(a, b, torch.tensor(y)),
                [_r(*shape, seed=36), _r(*shape, seed=37)])


@needs_torch
@pytest.mark.parametrize("margin", [0.0, 0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss_matches_torch(margin, reduction):
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    c = nn.MarginRankingLoss(margin=margin, reduction=reduction)
    t = torch.nn.MarginRankingLoss(margin=margin, reduction=reduction)
    check_torch(lambda a, b: c(a, b, cr.tensor(y)), lambda a, b: t(a, b, torch.tensor(y)),
                [_r(6, seed=38), _r(6, seed=39)])


def test_margin_losses_gradcheck_and_errors():
    y = cr.tensor([1, -1, 1], dtype=cr.float64)
    check_gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=0.1), [_r(3, 4, seed=40), _r(3, 4, seed=41)])
    check_gradcheck(lambda a, b: F.margin_ranking_loss(a, b, y, margin=0.2), [_r(3, seed=42), _r(3, seed=43)])
    with pytest.raises(RuntimeError, match=r"target must have shape \(3,\)"):
        F.cosine_embedding_loss(cr.randn(3, 4), cr.randn(3, 4), cr.tensor([1, -1]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.margin_ranking_loss(cr.randn(3), cr.randn(3), cr.ones(3, 1))


# ----------------------------------------------------------------------------------- module plumbing
@needs_torch
def test_loss_module_reprs_and_legacy_arguments():
    pairs = [(nn.MSELoss(), torch.nn.MSELoss()), (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean")),
             (nn.NLLLoss(), torch.nn.NLLLoss()), (nn.CosineEmbeddingLoss(0.5), torch.nn.CosineEmbeddingLoss(0.5))]
    for c, t in pairs:
        assert repr(c) == repr(t)
        assert c.reduction == t.reduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MSELoss(size_average=False).reduction == torch.nn.MSELoss(size_average=False).reduction
        assert nn.L1Loss(reduce=False).reduction == torch.nn.L1Loss(reduce=False).reduction
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(cr.randn(3), cr.randn(3), reduction="avg")


LEGACY = [({"reduce": False}, "none"), ({"size_average": False}, "sum"), ({"size_average": True}, "mean"),
          ({"reduce": True, "size_average": False}, "sum"), ({"reduce": False, "size_average": True}, "none")]


@pytest.mark.parametrize("legacy, meaning", LEGACY)
def test_legacy_reduce_and_size_average_follow_pytorch_with_its_warning(legacy, meaning):
    """The deprecated flags override ``reduction`` (PyTorch's rule), with PyTorch's deprecation warning."""
    x, y, t = cr.randn(4, 3), cr.randn(4, 3), cr.tensor([0, 2, 1, 1])
    cases = [(F.mse_loss, nn.MSELoss, (x, y)), (F.l1_loss, nn.L1Loss, (x, y)),
             (F.cross_entropy, nn.CrossEntropyLoss, (x, t)), (F.nll_loss, nn.NLLLoss, (F.log_softmax(x, 1), t)),
             (F.kl_div, nn.KLDivLoss, (F.log_softmax(x, 1), F.softmax(y, 1)))]
    warning = f"please use reduction='{meaning}' instead"
    for fn, module, args in cases:
        expected = fn(*args, reduction=meaning).numpy()
        with pytest.warns(UserWarning, match=warning):
            got = fn(*args, reduction="sum" if meaning != "sum" else "none", **legacy)   # overridden
        np.testing.assert_allclose(got.numpy(), expected, err_msg=fn.__name__)
        with pytest.warns(UserWarning, match=warning):
            m = module(**legacy)
        assert m.reduction == meaning
        np.testing.assert_allclose(m(*args).numpy(), expected, err_msg=module.__name__)


@pytest.mark.parametrize("kw", [{"reduce": "sum"}, {"size_average": "mean"}])
def test_legacy_flag_given_a_reduction_name_raises(kw):
    """reduce='sum' used to return the mean without a word (a string is truthy): say to use reduction=."""
    (name, value), = kw.items()
    with pytest.raises(TypeError, match=f"{name}='{value}'.* Fix: pass reduction='{value}' instead"):
        F.mse_loss(cr.randn(3), cr.randn(3), **kw)
    with pytest.raises(TypeError, match=f"reduction='{value}'"):
        nn.CrossEntropyLoss(**kw)


@pytest.mark.parametrize("module", [nn.L1Loss, nn.MSELoss, nn.BCELoss, nn.CrossEntropyLoss, nn.KLDivLoss,
                                    nn.HuberLoss, nn.BCEWithLogitsLoss, nn.CosineEmbeddingLoss])
def test_unknown_loss_arguments_raise_naming_the_loss(module):
    with pytest.raises(TypeError, match=rf"^{module.__name__}\.__init__\(\) got an unexpected keyword "
                                        rf"argument 'reduse'"):
        module(reduse="sum")
    with pytest.raises(TypeError, match="unexpected keyword argument 'reduse'"):
        F.mse_loss(cr.randn(3), cr.randn(3), reduse="sum")


@needs_torch
@pytest.mark.parametrize("legacy, meaning", LEGACY)
def test_legacy_arguments_match_torch(legacy, meaning):
    x, y = _r(4, 3), _r(4, 3, seed=1)
    with warnings.catch_warnings(record=True) as wc:
        warnings.simplefilter("always")
        got = F.mse_loss(cr.tensor(x), cr.tensor(y), **legacy).numpy()
    with warnings.catch_warnings(record=True) as wt:
        warnings.simplefilter("always")
        want = TF.mse_loss(torch.tensor(x), torch.tensor(y), **legacy).numpy()
    np.testing.assert_allclose(got, want)
    assert [str(w.message) for w in wc] == [str(w.message) for w in wt]


def test_losses_train_a_float32_model():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, t = cr.randn(16, 4), cr.tensor(np.random.default_rng(0).integers(0, 3, 16))
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(x), t)
    loss = loss + nn.BCEWithLogitsLoss()(model(x), cr.rand(16, 3)) + nn.MSELoss()(model(x), cr.randn(16, 3))
    assert loss.dtype == cr.float32
    loss.backward()
    assert all(p.grad is not None and p.grad.dtype == cr.float32 for p in model.parameters())


# ---------------------------------------------------------------------- the written-once rule (CrossEntropyGrad)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_first_order_equals_create_graph_and_gradgradcheck(reduction, smoothing, weighted):
    rng = np.random.default_rng(4)
    w = cr.tensor(rng.random(5) + 0.5, dtype=cr.float64) if weighted else None
    x = cr.tensor(rng.standard_normal((6, 5)), dtype=cr.float64, requires_grad=True)
    t = cr.tensor(np.array([0, 4, 2, -100, 1, 3]))

    def f(a):
        return F.cross_entropy(a, t, weight=w, reduction=reduction, label_smoothing=smoothing)
    gy = cr.tensor(rng.standard_normal(tuple(f(x).shape)), dtype=cr.float64)
    a, = cr.autograd.grad(f(x), x, gy)
    b, = cr.autograd.grad(f(x), x, gy, create_graph=True)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert cr.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("logits", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_first_order_equals_create_graph_and_gradgradcheck(logits, weighted):
    rng = np.random.default_rng(8)
    w = cr.tensor(rng.random((3, 4)) + 0.5, dtype=cr.float64) if weighted else None
    pw = cr.tensor(rng.random(4) + 0.5, dtype=cr.float64) if weighted and logits else None
    x = cr.tensor(rng.standard_normal((3, 4)) if logits else rng.uniform(0.1, 0.9, (3, 4)), dtype=cr.float64,
                  requires_grad=True)
    y = cr.tensor(rng.random((3, 4)), dtype=cr.float64, requires_grad=True)

    def f(a, b):
        if logits:
            return F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw, reduction="none")
        return F.binary_cross_entropy(a, b, weight=w, reduction="none")
    gy = cr.tensor(rng.standard_normal((3, 4)), dtype=cr.float64)
    first = cr.autograd.grad(f(x, y), (x, y), gy)
    graph = cr.autograd.grad(f(x, y), (x, y), gy, create_graph=True)
    for a, b in zip(first, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert cr.autograd.gradgradcheck(f, (x, y))
