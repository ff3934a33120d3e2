"""Shared test helpers: float64 gradcheck over generated shapes, and PyTorch as an oracle.

    check_gradcheck(fn, arrays)            finite differences vs chainrule's backward (float64)
    check_torch(fn_cr, fn_torch, arrays)   same inputs through chainrule and PyTorch: values and grads
    broadcast_shapes()                     hypothesis strategy: a pair of shapes that broadcast together
"""
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

try:
    import torch
    torch.set_default_dtype(torch.float64)
except ImportError:          # the oracle tests skip; everything else still runs
    torch = None

# one reason, word for word, for every oracle skip: the summary then groups them into one line
NO_TORCH = 'PyTorch (the oracle) is not installed: pip install -e ".[test,oracle]"'
needs_torch = pytest.mark.skipif(torch is None, reason=NO_TORCH)


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@st.composite
def broadcast_shapes(draw, num_shapes=2, min_dims=0, max_dims=4, max_side=4):
    """Shapes that broadcast together: scalars, size-1 dims and rank mismatch all appear."""
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                                min_side=1, max_side=max_side))
    return bs.input_shapes


def arrays_for(shapes_, seed=0, positive=False, low=None, high=None):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes_:
        if low is not None:
            a = rng.uniform(low, high, size=s)
        else:
            a = rng.standard_normal(s)
            if positive:
                a = np.abs(a) + 0.5
        out.append(np.asarray(a, dtype=np.float64))
    return out


def check_gradcheck(fn, arrays, requires=None, eps=1e-6, atol=1e-5, rtol=1e-3):
    """float64 gradcheck of ``fn`` at ``arrays``; ``requires`` picks which inputs require grad."""
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=(requires is None or requires[i]))
          for i, a in enumerate(arrays)]
    assert cr.autograd.gradcheck(fn, xs, eps=eps, atol=atol, rtol=rtol)


def check_torch(fn_cr, fn_torch, arrays, atol=1e-10, rtol=1e-7, grad_seed=7, requires=None):
    """Run the same float64 inputs through chainrule and PyTorch; compare outputs and input gradients."""
    if torch is None:
        pytest.skip(NO_TORCH)
    req = [True] * len(arrays) if requires is None else requires
    xc = [cr.tensor(a, dtype=cr.float64, requires_grad=r) for a, r in zip(arrays, req)]
    xt = [torch.tensor(a, dtype=torch.float64, requires_grad=r) for a, r in zip(arrays, req)]
    oc, ot = fn_cr(*xc), fn_torch(*xt)
    oc_list = oc if isinstance(oc, (tuple, list)) else [oc]
    ot_list = ot if isinstance(ot, (tuple, list)) else [ot]
    rng = np.random.default_rng(grad_seed)
    for c, t in zip(oc_list, ot_list):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
        assert tuple(c.shape) == tuple(t.shape)
    seeds = [rng.standard_normal(tuple(t.shape)) for t in ot_list]
    pairs = [(c, t, s) for c, t, s in zip(oc_list, ot_list, seeds) if t.requires_grad]
    if not pairs:
        return
    loss_c = sum((c * cr.tensor(s)).sum() for c, _, s in pairs)
    loss_t = sum((t * torch.tensor(s)).sum() for _, t, s in pairs)
    loss_c.backward()
    loss_t.backward()
    for i, (c, t) in enumerate(zip(xc, xt)):
        if not req[i]:
            continue
        if t.grad is None:
            assert c.grad is None or np.allclose(c.grad.numpy(), 0)
            continue
        assert c.grad is not None, f"input {i}: PyTorch has a gradient, chainrule has none"
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")
