"""``out=`` on the top-level ops, with PyTorch's rules (resize, safe cast, not differentiable)."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


@needs_torch
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "matmul", "maximum"])
def test_out_writes_the_result_like_torch(name):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    out, out_t = cr.empty(3, 3), torch.empty(3, 3, dtype=torch.float32)
    res = getattr(cr, name)(cr.tensor(a), cr.tensor(b), out=out)
    getattr(torch, name)(torch.tensor(a), torch.tensor(b), out=out_t)
    assert res is out
    np.testing.assert_allclose(out.numpy(), out_t.numpy(), rtol=1e-6)


def test_out_resizes_an_empty_tensor_silently_and_a_full_one_with_a_warning():
    out = cr.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.add(cr.ones(2, 2), 1, out=out)
    assert out.shape == (2, 2) and out.tolist() == [[2, 2], [2, 2]]
    full = cr.zeros(5)
    with pytest.warns(UserWarning, match="resized"):
        cr.mul(cr.ones(2), 3, out=full)
    assert full.tolist() == [3, 3]


def test_out_refuses_unsafe_casts_and_autograd():
    with pytest.raises(TypeError, match="can't be cast to the desired output type int64"):
        cr.add(cr.ones(2), 0.5, out=cr.zeros(2, dtype=cr.int64))
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.mul(x, 2, out=cr.empty(2))
    with cr.no_grad():
        o = cr.empty(2)
        cr.mul(x, 2, out=o)
    assert o.tolist() == [2, 2]
    i = cr.zeros(2, dtype=cr.float64)                      # float32 into float64: a safe cast
    cr.add(cr.ones(2), 1, out=i)
    assert i.dtype == cr.float64 and i.tolist() == [2, 2]
