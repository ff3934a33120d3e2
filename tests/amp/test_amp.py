"""autocast (float16 numerics of matmul-like ops, float32 losses) and GradScaler (dynamic loss scaling)
against PyTorch's CPU autocast and torch.amp.GradScaler."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


@needs_torch
def test_autocast_float16_linear_and_matmul_match_torch():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((8, 16), (4, 16), (4,)))
    xt, wt, bt = (torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in (x, w, b))
    xc, wc, bc = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    with torch.autocast("cpu", dtype=torch.float16):
        yt = torch.nn.functional.linear(xt, wt, bt)
        zt = xt @ wt.T
        lt = torch.nn.functional.cross_entropy(yt, torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
    with cr.autocast("cpu", dtype=cr.float16):
        yc = cr.nn.functional.linear(xc, wc, bc)
        zc = xc @ wc.T
        lc = cr.nn.functional.cross_entropy(yc, cr.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
    assert yc.dtype == cr.float16 and zc.dtype == cr.float16 and lc.dtype == cr.float32
    assert (yt.dtype, zt.dtype, lt.dtype) == (torch.float16, torch.float16, torch.float32)
    # the float16 result of a float32-accumulated product: within one float16 rounding of PyTorch's
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(zc.detach().numpy(), zt.detach().numpy(), rtol=2e-3, atol=2e-3)
    # and not the float32 answer: the inputs really were rounded to float16
    exact = x @ w.T
    assert np.abs(zc.detach().numpy().astype(np.float32) - exact).max() > 1e-4
    lc.backward()
    lt.backward()
    assert wc.grad.dtype == cr.float32
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), rtol=1e-2, atol=1e-3)


def test_autocast_disabled_and_outside_change_nothing():
    x, w = cr.randn(3, 4), cr.randn(2, 4)
    ref = cr.nn.functional.linear(x, w)
    with cr.autocast("cpu", dtype=cr.float16, enabled=False):
        same = cr.nn.functional.linear(x, w)
    assert same.dtype == cr.float32 and np.array_equal(same.numpy(), ref.numpy())
    with pytest.warns(UserWarning, match="Disabling"):
        with cr.autocast("cuda"):
            assert cr.nn.functional.linear(x, w).dtype == cr.float32
    with pytest.raises(RuntimeError, match="supports chainrule.float16 and chainrule.bfloat16"):
        cr.autocast("cpu", dtype=cr.float64)


def test_autocast_bfloat16_rounds_to_bfloat16():
    pytest.importorskip("ml_dtypes")
    import ml_dtypes
    x, w = cr.randn(3, 8), cr.randn(2, 8)
    with cr.autocast("cpu"):                               # CPU default: bfloat16
        y = x @ w.T
    xb = x.numpy().astype(ml_dtypes.bfloat16).astype(np.float32)
    wb = w.numpy().astype(ml_dtypes.bfloat16).astype(np.float32)
    expect = (xb @ wb.T).astype(ml_dtypes.bfloat16).astype(np.float32)
    np.testing.assert_array_equal(y.numpy(), expect)


@needs_torch
def test_grad_scaler_matches_torch_scale_schedule():
    """Same losses and gradients (some inf) through both scalers: same scales, same skipped steps."""
    kw = dict(init_scale=2.0 ** 4, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    w, wt = cr.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], dtype=torch.float32,
                                                                      requires_grad=True)
    opt, opt_t = cr.optim.SGD([w], lr=0.1), torch.optim.SGD([wt], lr=0.1)
    sc, sc_t = cr.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    for step in range(10):
        bad = step in (2, 6)
        for p, o, s, lib in ((w, opt, sc, cr), (wt, opt_t, sc_t, torch)):
            o.zero_grad()
            loss = (p * p).sum() * (float("inf") if bad else 1.0)
            s.scale(loss).backward()
            s.step(o)
            s.update()
        assert sc.get_scale() == sc_t.get_scale()
        np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-6)
    assert sc.state_dict()["_growth_tracker"] == sc_t.state_dict()["_growth_tracker"]


def test_grad_scaler_disabled_is_the_plain_loop():
    w = cr.tensor([1.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.5)
    with pytest.warns(UserWarning, match="Disabling"):
        sc = cr.amp.GradScaler("cuda")
    loss = (w * w).sum()
    assert sc.scale(loss) is loss and sc.get_scale() == 1.0
    loss.backward()
    sc.step(opt)
    sc.update()
    assert w.item() == 0.0
