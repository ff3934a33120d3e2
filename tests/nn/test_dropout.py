"""Dropout layers: inverted-dropout statistics, eval identity, determinism under manual_seed, gradients
(the same mask scales the gradient), channel variants, p = 0 / p = 1, and argument errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import needs_torch, torch


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    cr.manual_seed(0)
    x = cr.ones(400_000)
    y = F.dropout(x, p, training=True).numpy()
    zero_frac = np.mean(y == 0)
    # binomial standard deviation of the fraction is √(p(1-p)/n) < 1e-3: 5 sigma
    assert abs(zero_frac - p) < 5e-3, zero_frac
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-6)    # survivors are scaled, not changed otherwise
    assert abs(y.mean() - 1.0) < 5e-3 / (1 - p)                  # the mean is preserved


def test_dropout_float32_mask_and_dtype():
    cr.manual_seed(1)
    x = cr.randn(1000, 100)
    y = F.dropout(x, 0.25)
    assert y.dtype == cr.float32
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.75, rtol=1e-6)


def test_dropout_eval_and_p0_are_identity():
    x = cr.randn(5, 6, requires_grad=True)
    assert nn.Dropout(0.5).eval()(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_p1_gives_zeros_and_zero_grad():
    x = cr.randn(4, 5, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert np.all(y.detach().numpy() == 0) and np.all(np.isfinite(y.detach().numpy()))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_dropout_determinism_under_manual_seed():
    x = cr.randn(50, 40)
    cr.manual_seed(123)
    a = F.dropout(x, 0.3).numpy().copy()
    b = nn.Dropout(0.3)(x).numpy().copy()
    cr.manual_seed(123)
    a2 = F.dropout(x, 0.3).numpy()
    b2 = nn.Dropout(0.3)(x).numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a, b)                # the generator advanced between the calls


def test_dropout_gradient_uses_the_same_mask():
    cr.manual_seed(7)
    x = cr.randn(30, 20, dtype=cr.float64, requires_grad=True)
    y = F.dropout(x, 0.4)
    g = np.random.default_rng(0).standard_normal((30, 20))
    y.backward(cr.tensor(g))
    mask = y.detach().numpy() / x.detach().numpy()           # the scale each element received
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-12)
    assert set(np.round(np.unique(mask), 9)) <= {0.0, round(1 / 0.6, 9)}


def test_dropout_double_backward():
    cr.manual_seed(3)
    x = cr.randn(10, dtype=cr.float64, requires_grad=True)
    y = F.dropout(x, 0.5)
    (gx,) = cr.autograd.grad((y ** 2).sum(), x, create_graph=True)    # 2 y s  with s the scale
    gx.sum().backward()                                              # d/dx Σ 2 s² x = 2 s²
    s = np.where(y.detach().numpy() != 0, 2.0, 0.0)
    np.testing.assert_allclose(x.grad.numpy(), 2 * s * s)


@pytest.mark.parametrize("cls, fn, shape, lead", [
    (nn.Dropout2d, F.dropout2d, (8, 16, 5, 5), 2), (nn.Dropout1d, F.dropout1d, (16, 5), 1),
    (nn.Dropout1d, F.dropout1d, (8, 16, 7), 2), (nn.Dropout3d, F.dropout3d, (4, 8, 2, 3, 3), 2)])
def test_channel_dropout_zeros_whole_channels(cls, fn, shape, lead):
    cr.manual_seed(5)
    x = cr.rand(*shape) + 0.5                      # strictly positive: zeros come only from the mask
    for y in (cls(0.5)(x), fn(x, 0.5)):
        y = y.numpy().reshape(shape[:lead] + (-1,))
        zero = (y == 0)
        assert np.all(zero.all(-1) | ~zero.any(-1))              # every channel is all-zero or all-kept
        assert 0 < zero.all(-1).mean() < 1
        kept = ~zero.all(-1)
        np.testing.assert_allclose(y[kept], (x.numpy().reshape(shape[:lead] + (-1,)) * 2)[kept], rtol=1e-6)


def test_dropout_module_repr_and_errors():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.2, inplace=True)) == "Dropout2d(p=0.2, inplace=True)"
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1, but got -0.1"):
        F.dropout(cr.randn(3), -0.1)
    with pytest.raises(RuntimeError, match=r"dropout2d: expected a 3D \(unbatched\) or 4D \(batched\) input"):
        F.dropout2d(cr.randn(2, 3, 4, 5, 6))


@needs_torch
def test_dropout_repr_matches_torch():
    for c, t in [(nn.Dropout(0.3), torch.nn.Dropout(0.3)), (nn.Dropout2d(), torch.nn.Dropout2d()),
                 (nn.Dropout1d(0.1, True), torch.nn.Dropout1d(0.1, True))]:
        assert repr(c) == repr(t)


def test_dropout_inplace():
    cr.manual_seed(9)
    x = cr.ones(1000)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    assert 0.4 < np.mean(x.numpy() == 0) < 0.6


def test_dropout2d_3d_input_is_channelwise_1d_as_torch():
    # PyTorch (2.x) takes a 3D input to dropout2d as (N, C, L) with a warning; so does chainrule
    cr.manual_seed(2)
    x = cr.rand(16, 5, 7) + 0.5
    with pytest.warns(UserWarning, match="3D input"):
        y = F.dropout2d(x, 0.5).numpy()
    zero = y == 0
    assert np.all(zero.all(-1) | ~zero.any(-1))
    assert 0 < zero.all(-1).mean() < 1
