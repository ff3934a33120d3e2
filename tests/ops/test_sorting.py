"""tril / triu / sort / argsort / topk: values, indices and gradients against PyTorch; float64 gradcheck."""
import numpy as np
import pytest

import chainrule as cr
from oracle import arrays_for, check_gradcheck, check_torch, needs_torch, torch


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu_match_torch_with_gradients(shape, k):
    a, = arrays_for([shape], seed=1)
    check_torch(lambda x: cr.tril(x, k), lambda x: torch.tril(x, k), [a])
    check_torch(lambda x: x.triu(k), lambda x: x.triu(k), [a])
    check_gradcheck(lambda x: cr.tril(x, k) * 2, [a])


def test_tril_needs_a_matrix():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.tril(cr.ones(3))


@needs_torch
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_values_indices_and_gradient_match_torch(descending, dim):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(5, 6)).astype(np.float64)          # many ties: stable order matters
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, i = cr.sort(x, dim=dim, descending=descending)
    vt, it = torch.sort(xt, dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(v.detach().numpy(), vt.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    w = rng.standard_normal(a.shape)
    (v * cr.tensor(w)).sum().backward()
    (vt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    assert v.grad_fn.name() == "SortBackward0"
    np.testing.assert_array_equal(cr.argsort(x, dim, descending).numpy(),
                                  torch.sort(xt, dim=dim, descending=descending, stable=True)[1].numpy())


@needs_torch
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_topk_matches_torch(largest, k):
    a, = arrays_for([(4, 6)], seed=3)
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, i = x.topk(k, largest=largest)
    vt, it = xt.topk(k, largest=largest)
    np.testing.assert_allclose(v.detach().numpy(), vt.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    v.sum().backward()
    vt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    assert v.grad_fn.name() == "TopkBackward0" and cr.topk(x, k).values.shape == (4, k)


def test_topk_gradcheck_and_bad_k():
    a, = arrays_for([(3, 5)], seed=4)
    check_gradcheck(lambda x: cr.topk(x, 2, dim=1)[0] ** 2, [a])
    with pytest.raises(IndexError, match="k \\(7\\) is out of range"):
        cr.topk(cr.ones(3, 5), 7)
