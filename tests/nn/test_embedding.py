"""Embedding against PyTorch: lookups of any index shape, weight gradients (repeated indices accumulate,
the padding row gets none), max_norm renormalisation, scale_grad_by_freq, from_pretrained, init, repr,
state dict, and clear errors for out-of-range or non-integer indices."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import check_gradcheck, needs_torch, torch


def _pair(num, dim, **kw):
    t = torch.nn.Embedding(num, dim, **kw)
    c = nn.Embedding(num, dim, **kw).double()
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return c, t


def _compare(c, t, idx, seed=0):
    yc, yt = c(cr.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-15)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(c.weight.grad.numpy(), t.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), atol=1e-15)


@needs_torch
@pytest.mark.parametrize("idx_shape", [(5,), (3, 4), (2, 3, 2), ()])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}, {"padding_idx": -2}, {"scale_grad_by_freq": True},
                                {"padding_idx": 3, "scale_grad_by_freq": True}])
def test_embedding_matches_torch(idx_shape, kw):
    c, t = _pair(7, 4, **kw)
    idx = np.random.default_rng(1).integers(0, 7, idx_shape)
    if idx.ndim:
        idx.reshape(-1)[::2] = 3                       # repeated indices (and the padding row, when it is 3)
    _compare(c, t, idx)


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_matches_torch(norm_type):
    c, t = _pair(6, 3, max_norm=0.8, norm_type=norm_type)
    assert repr(c) == repr(t)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    _compare(c, t, idx)                                # the looked-up rows are renormalised in place, as torch
    norms = np.linalg.norm(c.weight.detach().numpy()[[0, 1, 2, 5]], ord=norm_type, axis=1)
    assert np.all(norms <= 0.8 + 1e-6)


def test_embedding_padding_row_never_gets_gradient_and_stays():
    cr.manual_seed(0)
    e = nn.Embedding(5, 3, padding_idx=1)
    np.testing.assert_array_equal(e.weight.detach().numpy()[1], 0)    # zeroed at init
    idx = cr.tensor([[1, 2, 1], [1, 1, 4]])
    (e(idx) ** 2 + e(idx)).sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy()[1], 0)
    assert np.all(e.weight.grad.numpy()[[2, 4]] != 0)
    np.testing.assert_array_equal(e.weight.grad.numpy()[[0, 3]], 0)


def test_embedding_init_is_standard_normal():
    cr.manual_seed(0)
    w = nn.Embedding(2000, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert w.dtype == np.float32


def test_embedding_gradcheck_and_gradgradcheck():
    idx = cr.tensor([[0, 2], [2, 3]])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose, so only the plain lookup is a
    # true derivative; their gradients are checked against PyTorch above)
    check_gradcheck(lambda w: F.embedding(idx, w) ** 2, [np.random.default_rng(2).standard_normal((4, 3))])
    w = cr.tensor(np.random.default_rng(4).standard_normal((4, 2)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=0) ** 3, [w])


@needs_torch
def test_embedding_from_pretrained_and_repr():
    w = np.random.default_rng(5).standard_normal((4, 3))
    c = nn.Embedding.from_pretrained(cr.tensor(w))
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert repr(c) == repr(t)
    assert not c.weight.requires_grad
    np.testing.assert_array_equal(c(cr.tensor([3, 1])).numpy(), t(torch.tensor([3, 1])).numpy())
    c2 = nn.Embedding.from_pretrained(cr.tensor(w), freeze=False, padding_idx=2)
    assert c2.weight.requires_grad
    assert repr(c2) == repr(torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=2))
    for kw in [{}, {"padding_idx": 2}, {"scale_grad_by_freq": True}, {"max_norm": 1.0, "norm_type": 1.0}]:
        assert repr(nn.Embedding(10, 3, **kw)) == repr(torch.nn.Embedding(10, 3, **kw))
        assert list(nn.Embedding(10, 3, **kw).state_dict()) == list(torch.nn.Embedding(10, 3, **kw).state_dict())


def test_embedding_errors():
    e = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"index 12 is out of range for a weight with num_embeddings=10 rows "
                                         r"\(valid indices: 0..9\)"):
        e(cr.tensor([1, 12, 3]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        e(cr.tensor([[1, -1]]))
    with pytest.raises(TypeError, match="indices must be an integer tensor"):
        e(cr.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="padding_idx=10 must be within num_embeddings=10"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(10, 3, sparse=True)


def test_embedding_int32_indices_and_float32_weight():
    e = nn.Embedding(6, 2)
    out = e(cr.tensor([[0, 5]], dtype=cr.int32))
    assert out.shape == (1, 2, 2) and out.dtype == cr.float32
    out.sum().backward()
    assert e.weight.grad.dtype == cr.float32


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}])
def test_embedding_heavily_repeated_indices_match_torch(kw):
    # index 0 repeated 100 times and 5 repeated 40 times: past the ranks handled by fancy indexing
    c, t = _pair(9, 5, **kw)
    idx = np.concatenate([np.zeros(100, np.int64), np.full(40, 5), np.arange(9), np.full(19, 8)])
    idx = np.random.default_rng(6).permutation(idx).reshape(4, -1)
    _compare(c, t, idx, seed=1)
