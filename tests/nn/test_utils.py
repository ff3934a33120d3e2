"""cr.nn.utils vs torch.nn.utils: clip_grad_norm_ (norm types, clipping or not, non-finite), clip_grad_value_,
parameters_to_vector / vector_to_parameters."""
import math

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

SHAPES = [(3, 4), (4,), (2, 2, 3)]


def pairs(seed=0, scale=1.0, none_at=None):
    """Parameters with the same float64 grads in chainrule and torch (grad None at index none_at)."""
    rng = np.random.default_rng(seed)
    cps, tps = [], []
    for i, s in enumerate(SHAPES):
        w, g = rng.standard_normal(s), rng.standard_normal(s) * scale
        cp, tp = cr.nn.Parameter(cr.tensor(w, dtype=cr.float64)), torch.nn.Parameter(torch.tensor(w))
        if i != none_at:
            cp.grad, tp.grad = cr.tensor(g, dtype=cr.float64), torch.tensor(g)
        cps.append(cp)
        tps.append(tp)
    return cps, tps


def assert_grads_equal(cps, tps, rtol=1e-12):
    for cp, tp in zip(cps, tps):
        if tp.grad is None:
            assert cp.grad is None
        else:
            np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, 0.5, 0, -math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    cps, tps = pairs(none_at=1)
    tn = float(norm_type) if isinstance(norm_type, str) else norm_type
    ct = cr.nn.utils.clip_grad_norm_(cps, max_norm, norm_type=norm_type)
    tt = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=tn)
    assert isinstance(ct, cr.Tensor) and ct.shape == () and ct.dtype == cr.float64
    np.testing.assert_allclose(ct.item(), tt.item(), rtol=1e-12)
    assert_grads_equal(cps, tps)


@needs_torch
def test_clip_grad_norm_actually_clips_and_single_tensor():
    cps, tps = pairs(scale=10.0)
    total = cr.nn.utils.clip_grad_norm_(iter(cps), max_norm=1.0)         # a generator is fine
    torch.nn.utils.clip_grad_norm_(iter(tps), max_norm=1.0)
    assert total.item() > 10
    new = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in cps))
    assert abs(new - 1.0) < 1e-5
    assert_grads_equal(cps, tps)
    c1, t1 = pairs(seed=2)
    ct = cr.nn.utils.clip_grad_norm_(c1[0], 0.1)
    tt = torch.nn.utils.clip_grad_norm_(t1[0], 0.1)
    np.testing.assert_allclose(ct.item(), tt.item(), rtol=1e-12)
    assert_grads_equal(c1[:1], t1[:1])


@needs_torch
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_clip_grad_norm_nonfinite(bad):
    cps, tps = pairs()
    cps[0].grad.numpy()[0, 0] = bad
    tps[0].grad[0, 0] = bad
    with pytest.raises(RuntimeError, match="non-finite.*error_if_nonfinite=False"):
        cr.nn.utils.clip_grad_norm_(cps, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tps, 1.0, error_if_nonfinite=True)
    assert cps[1].grad.numpy().any()                     # the failed call left the grads alone
    ct = cr.nn.utils.clip_grad_norm_(cps, 1.0)           # without the flag: scaled by the bad norm, as torch
    tt = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert (np.isnan(ct.item()) and np.isnan(tt.item())) or ct.item() == tt.item()
    for cp, tp in zip(cps, tps):
        np.testing.assert_array_equal(cp.grad.numpy(), tp.grad.numpy())


@needs_torch
def test_clip_grad_norm_without_grads():
    cps, tps = pairs()
    for p in cps + tps:
        p.grad = None
    ct = cr.nn.utils.clip_grad_norm_(cps, 1.0)
    tt = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert ct.item() == tt.item() == 0.0


@needs_torch
def test_clip_grad_norm_float32():
    rng = np.random.default_rng(5)
    g = rng.standard_normal((50, 7)).astype(np.float32) * 3
    cp, tp = cr.nn.Parameter(cr.zeros(50, 7)), torch.nn.Parameter(torch.zeros(50, 7, dtype=torch.float32))
    cp.grad, tp.grad = cr.tensor(g), torch.tensor(g)
    ct = cr.nn.utils.clip_grad_norm_([cp], 2.0)
    tt = torch.nn.utils.clip_grad_norm_([tp], 2.0)
    assert ct.dtype == cr.float32 and cp.grad.dtype == cr.float32
    np.testing.assert_allclose(ct.item(), tt.item(), rtol=1e-6)
    np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-7)


@needs_torch
def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    cps, tps = pairs()
    cg, tg = [p.grad for p in cps], [p.grad for p in tps]
    cn = cr.nn.utils.get_total_norm(cg, 3.0)
    tn = torch.nn.utils.get_total_norm(tg, 3.0)
    np.testing.assert_allclose(cn.item(), tn.item(), rtol=1e-12)
    cr.nn.utils.clip_grads_with_norm_(cps, 0.7, cn)
    torch.nn.utils.clip_grads_with_norm_(tps, 0.7, tn)
    assert_grads_equal(cps, tps)


@needs_torch
@pytest.mark.parametrize("clip", [0.3, 2.0])
def test_clip_grad_value_matches_torch(clip):
    cps, tps = pairs(none_at=2)
    assert cr.nn.utils.clip_grad_value_(cps, clip) is None
    torch.nn.utils.clip_grad_value_(tps, clip)
    assert_grads_equal(cps, tps)
    assert max(np.abs(p.grad.numpy()).max() for p in cps if p.grad is not None) <= clip


def test_clip_grad_bad_input():
    with pytest.raises(TypeError, match="iterable of Tensors"):
        cr.nn.utils.clip_grad_norm_(3, 1.0)
    with pytest.raises(TypeError, match="item 1 is list"):
        cr.nn.utils.clip_grad_value_([cr.ones(2), [1.0]], 1.0)


@needs_torch
def test_parameters_to_vector_and_back_match_torch():
    cps, tps = pairs()
    cv = cr.nn.utils.parameters_to_vector(cps)
    tv = torch.nn.utils.parameters_to_vector(tps)
    np.testing.assert_array_equal(cv.detach().numpy(), tv.detach().numpy())
    # differentiable, as torch's: gradients flow back to the parameters
    weights = np.arange(cv.shape[0], dtype=np.float64)
    for p in cps + tps:
        p.grad = None
    (cv * cr.tensor(weights)).sum().backward()
    (tv * torch.tensor(weights)).sum().backward()
    assert_grads_equal(cps, tps)

    new = np.random.default_rng(9).standard_normal(cv.shape[0])
    before = [p._data for p in cps]
    with cr.no_grad():
        cr.nn.utils.vector_to_parameters(cr.tensor(new), cps)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(torch.tensor(new), tps)
    for cp, tp, mem in zip(cps, tps, before):
        np.testing.assert_array_equal(cp.detach().numpy(), tp.detach().numpy())
        assert cp._data is mem                     # written into the parameters' own memory
        assert cp.requires_grad


def test_vector_to_parameters_errors():
    ps = [cr.nn.Parameter(cr.zeros(2, 3)), cr.nn.Parameter(cr.zeros(4))]
    with pytest.raises(TypeError, match="expected chainrule.Tensor, but got: ndarray"):
        cr.nn.utils.vector_to_parameters(np.zeros(10), ps)
    with pytest.raises(ValueError, match=r"as many elements as the parameters together \(10\), got shape \(9,\)"):
        cr.nn.utils.vector_to_parameters(cr.zeros(9), ps)
    with pytest.raises(ValueError, match="got no parameters"):
        cr.nn.utils.parameters_to_vector([])


def test_vector_round_trip_and_version_bump():
    ps = [cr.nn.Parameter(cr.randn(2, 3)), cr.nn.Parameter(cr.randn(4))]
    v = cr.nn.utils.parameters_to_vector(ps).detach()
    saved = [p.detach().numpy().copy() for p in ps]
    y = (ps[0] * ps[0]).sum()                         # saves ps[0]
    with cr.no_grad():
        cr.nn.utils.vector_to_parameters(v * 2, ps)
    for p, s in zip(ps, saved):
        np.testing.assert_allclose(p.detach().numpy(), 2 * s)
    with pytest.raises(RuntimeError):                 # the write is visible to saved-tensor checks
        y.backward()
