"""one_hot, normalize and cosine_similarity against PyTorch (values, gradients, edge cases: zero vectors,
tiny norms below eps, broadcasting, negative dims), float64 gradcheck, and their errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from oracle import check_gradcheck, check_torch, needs_torch, torch


def _r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------------ one_hot
@needs_torch
@pytest.mark.parametrize("shape, num_classes", [((5,), -1), ((2, 3), -1), ((), -1), ((5,), 6), ((2, 3), 6),
                                                ((), 6), ((0,), 6)])   # empty with -1: an error, tested below
def test_one_hot_matches_torch(shape, num_classes):
    idx = np.random.default_rng(0).integers(0, 5, shape)
    c = F.one_hot(cr.tensor(idx), num_classes)
    t = torch.nn.functional.one_hot(torch.tensor(idx), num_classes)
    assert c.dtype == cr.int64
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="smaller than num_classes=3, got 3"):
        F.one_hot(cr.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        F.one_hot(cr.tensor([0, -1]))
    with pytest.raises(TypeError, match="integer tensor"):
        F.one_hot(cr.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="empty tensor"):
        F.one_hot(cr.tensor([], dtype=cr.int64))


# ------------------------------------------------------------------------------------------------ normalize
@needs_torch
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 1), (2.0, -1), (3.0, 0), (float("inf"), 1)])
def test_normalize_matches_torch(p, dim):
    x = _r(3, 4, seed=1)
    check_torch(lambda x: F.normalize(x, p, dim), lambda x: torch.nn.functional.normalize(x, p, dim), [x])


@needs_torch
def test_normalize_zero_and_tiny_vectors_match_torch():
    x = np.array([[0.0, 0.0, 0.0], [1e-14, -2e-14, 0.0], [3.0, 4.0, 0.0]])
    check_torch(lambda x: F.normalize(x, dim=1), lambda x: torch.nn.functional.normalize(x, dim=1), [x])
    out = F.normalize(cr.tensor(x)).numpy()
    assert np.all(np.isfinite(out)) and np.all(out[0] == 0)


def test_normalize_gradcheck():
    check_gradcheck(lambda x: F.normalize(x, dim=1), [_r(3, 4, seed=2)])
    check_gradcheck(lambda x: F.normalize(x, p=1.0, dim=0), [_r(3, 4, seed=3)])


# ------------------------------------------------------------------------------------------------ cosine_similarity
@needs_torch
@pytest.mark.parametrize("s1, s2, dim", [((4, 5), (4, 5), 1), ((4, 5), (4, 5), 0), ((2, 3, 4), (3, 4), -1),
                                         ((3, 1, 4), (1, 5, 4), 2), ((6,), (6,), 0)])
def test_cosine_similarity_matches_torch(s1, s2, dim):
    check_torch(lambda a, b: F.cosine_similarity(a, b, dim=dim),
                lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=dim), [_r(*s1, seed=4), _r(*s2, seed=5)])


@needs_torch
def test_cosine_similarity_small_norms_match_torch():
    # norms below eps are clamped in value only: gradients follow PyTorch's formula exactly
    a = np.array([[1e-10, 2e-10, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    b = np.array([[3.0, -1.0, 2.0], [1e-9, 0.0, -1e-9], [1.0, 1.0, 1.0]])
    check_torch(lambda a, b: F.cosine_similarity(a, b), lambda a, b: torch.nn.functional.cosine_similarity(a, b),
                [a, b])
    check_torch(lambda a, b: F.cosine_similarity(a, b, eps=1e-3),
                lambda a, b: torch.nn.functional.cosine_similarity(a, b, eps=1e-3), [a, b])


def test_cosine_similarity_gradcheck_and_errors():
    check_gradcheck(lambda a, b: F.cosine_similarity(a, b), [_r(3, 4, seed=6), _r(3, 4, seed=7)])
    assert cr.autograd.gradgradcheck(lambda a, b: F.cosine_similarity(a, b, dim=0),
                                     [cr.tensor(_r(3, 2, seed=8), requires_grad=True),
                                      cr.tensor(_r(3, 2, seed=9), requires_grad=True)])
    with pytest.raises(RuntimeError, match=r"shapes \(3, 4\) and \(3, 5\) cannot be broadcast"):
        F.cosine_similarity(cr.randn(3, 4), cr.randn(3, 5))
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        F.cosine_similarity(cr.randn(3, 4), cr.randn(3, 4), dim=2)


def test_cosine_similarity_bounded():
    a = cr.tensor(_r(100, 8, seed=10))
    s = F.cosine_similarity(a, a * 3.0).numpy()
    np.testing.assert_allclose(s, 1.0, rtol=1e-6)
    s2 = F.cosine_similarity(a, -a).numpy()
    np.testing.assert_allclose(s2, -1.0, rtol=1e-6)
