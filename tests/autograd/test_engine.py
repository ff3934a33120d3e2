"""The backward engine: Tensor.backward, autograd.grad, hooks, retain_grad, gradient aliasing.

Expected values come from calculus worked out by hand or from PyTorch (the oracle), never from chainrule.
"""
import sys

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


def leaf(values, dtype=cr.float64):
    return cr.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------- backward(): basics
def test_long_chain_does_not_hit_recursion_limit():
    # 100 000 recorded ops, far beyond the recursion limit: topo sort and backward must be iterative.
    assert sys.getrecursionlimit() < 100_000
    x = leaf([1.0, -2.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    (g,) = cr.autograd.grad(y.sum(), x, retain_graph=True)       # grad() prunes the graph: also iterative
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(y.detach().numpy(), [100_001.0, 99_998.0])


def test_long_chain_of_saving_ops_can_be_dropped_without_backward():
    # A 100 000-node graph that was never backpropagated still holds its saved tensors; freeing it must
    # not blow the C stack / recursion limit either.
    x = leaf([0.5])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    del y                     # must not crash


def test_grads_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()                       # 2x
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3.0).sum().backward()                     # + 3
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_non_scalar_backward_without_gradient_is_a_clear_error():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)|\(2,\).*scalar"):
        y.backward()
    assert x.grad is None


def test_non_scalar_backward_with_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(cr.tensor([1.0, 10.0, 100.0], dtype=cr.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0, 600.0])


def test_backward_gradient_of_wrong_shape_is_a_clear_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape"):
        (x * 2).backward(cr.ones(3, dtype=cr.float64))


def test_backward_on_tensor_without_grad_is_a_clear_error():
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_second_backward_through_freed_graph_names_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()           # mul saves its inputs
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_freed_saved_output_names_retain_graph_too():
    x = leaf([1.0, 2.0])
    y = x.exp().sum()           # exp saves its output, not its input
    y.backward()
    assert y.grad_fn.next_functions[0][0]._freed
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_graph_that_saved_nothing_backpropagates_twice_as_in_pytorch():
    # add and sum keep no tensors for backward: nothing to free, so (as in PyTorch) a second backward works
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    assert not y.grad_fn._freed


def test_retain_graph_allows_two_backwards_and_doubles_grads():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])       # 2 * 2x


def test_diamond_graph_sums_both_paths():
    # x feeds two branches that meet again: dL/dx = sum over paths.
    x = leaf([0.5, -1.5, 2.0])
    a = x * x            # 2x
    b = x.exp()          # e^x
    c = a * b            # L = x^2 e^x
    c.sum().backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), (2 * xv + xv ** 2) * np.exp(xv), rtol=1e-12)


def test_same_tensor_used_twice_in_one_op():
    x = leaf([3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0])
    y = leaf([2.0, 5.0])
    (y + y + y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])


def test_unused_branches_and_leaves_get_no_grad():
    x = leaf([1.0, 2.0])
    w = leaf([4.0, 4.0])
    unused = x * w            # recorded but not part of the loss
    loss = (x * 3.0).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    assert w.grad is None
    assert unused.grad_fn is not None     # the unused branch is untouched and still usable
    unused.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])


def test_leaf_without_requires_grad_gets_no_grad():
    x = leaf([1.0, 2.0])
    c = cr.tensor([5.0, 6.0], dtype=cr.float64)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 6.0])


def test_integer_inputs_do_not_need_grad():
    x = leaf([1.0, 2.0])
    idx = cr.tensor([1, 1, 0])
    (x[idx] * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert idx.grad is None


def test_backward_to_float32_leaf_keeps_its_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)          # float32
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_backward_on_a_leaf_itself():
    x = leaf([1.0, 2.0])
    g = cr.tensor([7.0, 8.0], dtype=cr.float64)
    x.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 8.0])
    g.mul_(0)                                     # the caller's gradient must not alias x.grad
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 8.0])


def test_backward_inputs_argument_restricts_accumulation():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), [2.0])
    assert b.grad is None


# ---------------------------------------------------------------------------- .grad never aliases
def _assert_independent(*leaves):
    """Writing into one leaf's .grad in place must not change any other leaf's .grad."""
    before = [t.grad.numpy().copy() for t in leaves]
    for i, t in enumerate(leaves):
        t.grad.mul_(2)
        for j, u in enumerate(leaves):
            expected = before[j] * (2 if j <= i else 1)
            np.testing.assert_array_equal(u.grad.numpy(), expected, err_msg=f"grad {j} changed with grad {i}")


def test_grads_of_an_add_do_not_alias():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.mul_(2)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("make", [
    lambda a, b, c: (a + b + c).sum(),
    lambda a, b, c: (a - b + c).sum(),
    lambda a, b, c: cr.stack([a, b, c]).sum(),
    lambda a, b, c: cr.cat([a, b, c]).sum(),
    lambda a, b, c: (a.reshape(2, 1) + b.reshape(2, 1) + c).sum(),
    lambda a, b, c: (a + b.clone() + c.view(2)).sum(),
])
def test_grads_of_several_leaves_never_alias(make):
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0])
    make(a, b, c).backward()
    _assert_independent(a, b, c)


def test_grad_does_not_alias_retained_nonleaf_grad():
    a = leaf([1.0, 2.0])
    h = a + 1.0
    h.retain_grad()
    h.sum().backward()
    a.grad.mul_(5)
    np.testing.assert_array_equal(h.grad.numpy(), [1.0, 1.0])


def test_grad_does_not_alias_the_callers_gradient():
    a = leaf([1.0, 2.0])
    g = cr.tensor([3.0, 4.0], dtype=cr.float64)
    (a + 0.0).backward(g)
    a.grad.mul_(2)
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])


def test_accumulated_grad_is_writable_and_independent():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    for _ in range(3):
        (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])
    _assert_independent(a, b)


# ---------------------------------------------------------------------------- autograd.grad
def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    (gx, gy) = cr.autograd.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad


def test_grad_single_input_tensor():
    x = leaf([2.0])
    g = cr.autograd.grad((x ** 3).sum(), x)
    assert isinstance(g, tuple) and len(g) == 1
    np.testing.assert_allclose(g[0].numpy(), [12.0])


def test_grad_unused_input_is_an_error_unless_allowed():
    x, z = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = cr.autograd.grad(y, [x, z], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert gz is None


def test_grad_with_respect_to_non_leaf_inputs():
    x = leaf([1.0, 2.0])
    h = x * x            # dL/dh for L = sum(3h) is 3, regardless of x
    loss = (h * 3.0).sum()
    (gh,) = cr.autograd.grad(loss, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [3.0, 3.0])
    gh2, gx = cr.autograd.grad(loss, [h, x])
    np.testing.assert_allclose(gh2.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    assert x.grad is None


def test_grad_with_grad_outputs():
    x = leaf([1.0, 2.0, 3.0])
    (g,) = cr.autograd.grad(x * x, x, grad_outputs=cr.tensor([1.0, 0.0, -1.0], dtype=cr.float64))
    np.testing.assert_allclose(g.numpy(), [2.0, 0.0, -6.0])


def test_grad_input_without_requires_grad_is_an_error():
    x = leaf([1.0])
    c = cr.tensor([1.0], dtype=cr.float64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.autograd.grad((x * c).sum(), [c])


def test_grad_frees_graph_unless_retained():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    cr.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.autograd.grad(y, x)


def test_third_derivative_of_x4_with_create_graph():
    xv = np.array([-1.5, 0.5, 2.0])
    x = leaf(xv)
    y = (x ** 4).sum()
    (g1,) = cr.autograd.grad(y, x, create_graph=True)
    (g2,) = cr.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = cr.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().numpy(), 4 * xv ** 3)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * xv ** 2)
    np.testing.assert_allclose(g3.numpy(), 24 * xv)


def test_backward_create_graph_makes_grad_differentiable():
    x = leaf([3.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.sum().backward()                   # d/dx 3x^2 = 6x
    np.testing.assert_allclose(x.grad.numpy(), [18.0])


# ---------------------------------------------------------------------------- second order vs PyTorch
def _mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    return dict(w1=rng.standard_normal((3, 4)), b1=rng.standard_normal(4), w2=rng.standard_normal((4, 2)),
                b2=rng.standard_normal(2), x=rng.standard_normal((5, 3)), y=rng.standard_normal((5, 2)),
                v=[rng.standard_normal(s) for s in [(3, 4), (4,), (4, 2), (2,)]])


def _mlp_loss(lib, x, y, w1, b1, w2, b2):
    h = lib.tanh(x @ w1 + b1)
    out = lib.tanh(h @ w2 + b2)
    return ((out - y) ** 2).mean()


@needs_torch
def test_hvp_of_mlp_matches_torch_functional_hvp():
    d = _mlp_data()
    names = ["w1", "b1", "w2", "b2"]
    xc, yc = cr.tensor(d["x"]), cr.tensor(d["y"])
    xt, yt = torch.tensor(d["x"]), torch.tensor(d["y"])

    def fc(w1, b1, w2, b2):
        return _mlp_loss(cr, xc, yc, w1, b1, w2, b2)

    def ft(w1, b1, w2, b2):
        return _mlp_loss(torch, xt, yt, w1, b1, w2, b2)

    params_c = tuple(cr.tensor(d[n]) for n in names)
    params_t = tuple(torch.tensor(d[n]) for n in names)
    vc = tuple(cr.tensor(v) for v in d["v"])
    vt = tuple(torch.tensor(v) for v in d["v"])
    out_c, hv_c = cr.autograd.functional.hvp(fc, params_c, vc)
    out_t, hv_t = torch.autograd.functional.hvp(ft, params_t, vt)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.numpy(), rtol=1e-12)
    assert len(hv_c) == 4
    for n, a, b in zip(names, hv_c, hv_t):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)


@needs_torch
def test_hvp_manual_two_grad_form_matches_torch_double_backward():
    d = _mlp_data(1)
    names = ["w1", "b1", "w2", "b2"]
    pc = [cr.tensor(d[n], requires_grad=True) for n in names]
    pt = [torch.tensor(d[n], requires_grad=True) for n in names]
    loss_c = _mlp_loss(cr, cr.tensor(d["x"]), cr.tensor(d["y"]), *pc)
    loss_t = _mlp_loss(torch, torch.tensor(d["x"]), torch.tensor(d["y"]), *pt)
    gc = cr.autograd.grad(loss_c, pc, create_graph=True)
    gt = torch.autograd.grad(loss_t, pt, create_graph=True)
    dot_c = sum((g * cr.tensor(v)).sum() for g, v in zip(gc, d["v"]))
    dot_t = sum((g * torch.tensor(v)).sum() for g, v in zip(gt, d["v"]))
    hv_c = cr.autograd.grad(dot_c, pc)
    hv_t = torch.autograd.grad(dot_t, pt)
    for n, a, b in zip(names, hv_c, hv_t):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)
    assert all(p.grad is None for p in pc)


@needs_torch
def test_gradient_penalty_matches_torch():
    # WGAN-GP style: loss = f(x) + ||df/dx||^2, backpropagated into the weights through the input gradient.
    d = _mlp_data(2)
    names = ["w1", "b1", "w2", "b2"]
    pc = [cr.tensor(d[n], requires_grad=True) for n in names]
    pt = [torch.tensor(d[n], requires_grad=True) for n in names]
    xc = cr.tensor(d["x"], requires_grad=True)
    xt = torch.tensor(d["x"], requires_grad=True)

    def crit(lib, x, w1, b1, w2, b2):
        return lib.tanh(lib.tanh(x @ w1 + b1) @ w2 + b2).sum()

    out_c, out_t = crit(cr, xc, *pc), crit(torch, xt, *pt)
    (gxc,) = cr.autograd.grad(out_c, xc, create_graph=True)
    (gxt,) = torch.autograd.grad(out_t, xt, create_graph=True)
    pen_c = ((gxc ** 2).sum(dim=1).sqrt() - 1) ** 2
    pen_t = ((gxt ** 2).sum(dim=1).sqrt() - 1) ** 2
    (out_c + 10 * pen_c.mean()).backward()
    (out_t + 10 * pen_t.mean()).backward()
    for n, a, b in zip(names, pc, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------- hooks and retain_grad
def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    assert h.retains_grad
    out = (h * h).sum()
    out.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.array([3.0, 6.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * np.array([1.0, 2.0]))


def test_non_leaf_grad_is_none_without_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    (h * h).sum().backward()
    assert h.grad is None


def test_hook_on_leaf_replaces_gradient_and_can_be_removed():
    x = leaf([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.numpy().copy())
        return g * 10

    handle = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_non_leaf_changes_what_flows_upstream():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    h.register_hook(lambda g: g * 0 + 1.0)       # pretend dL/dh = 1 everywhere
    (h * h).sum().backward()                    # true dL/dh = 2h; replaced by 1
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_hook_returning_none_observes_only():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_non_leaf_hook_removed():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    handle = h.register_hook(lambda g: g * 100)
    handle.remove()
    (h * h).sum(). backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_hook_on_leaf_used_twice_sees_the_summed_gradient():
    x = leaf([1.0])
    calls = []
    x.register_hook(lambda g: calls.append(g.numpy().copy()))
    (x * 2 + x * 3).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [5.0])


def test_register_hook_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_hook(lambda g: g)


@needs_torch
def test_hooks_and_retain_grad_match_torch():
    xv = np.array([0.3, -0.7, 1.1])
    results = []
    for lib in (cr, torch):
        x = lib.tensor(xv, requires_grad=True)
        h = lib.sin(x) * x
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        z = (h ** 2).sum()
        z.backward()
        results.append((x.grad.numpy().copy(), h.grad.numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


# ---------------------------------------------------------------------------- autograd.functional vs PyTorch
@needs_torch
def test_functional_jacobian_hessian_vjp_match_torch():
    xv = np.array([0.3, -0.8, 1.2])
    wv = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])

    def f(lib):
        return lambda x: lib.tanh(lib.tensor(wv) @ x) * x[:2]

    def s(lib):
        return lambda x: (lib.sin(x) * x).sum() + (x[0] * x[2]) ** 2

    jc = cr.autograd.functional.jacobian(f(cr), cr.tensor(xv))
    jt = torch.autograd.functional.jacobian(f(torch), torch.tensor(xv))
    assert jc.shape == tuple(jt.shape)
    np.testing.assert_allclose(jc.numpy(), jt.numpy(), rtol=1e-12, atol=1e-14)

    hc = cr.autograd.functional.hessian(s(cr), cr.tensor(xv))
    ht = torch.autograd.functional.hessian(s(torch), torch.tensor(xv))
    np.testing.assert_allclose(hc.numpy(), ht.numpy(), rtol=1e-12, atol=1e-14)

    v = np.array([1.0, -2.0])
    oc, gc = cr.autograd.functional.vjp(f(cr), cr.tensor(xv), cr.tensor(v))
    ot, gt = torch.autograd.functional.vjp(f(torch), torch.tensor(xv), torch.tensor(v))
    np.testing.assert_allclose(oc.detach().numpy(), ot.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=1e-12)


def test_functional_hvp_leaves_the_inputs_alone():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64)
    _, hv = cr.autograd.functional.hvp(lambda t: (t ** 3).sum(), x, cr.tensor([1.0, 1.0], dtype=cr.float64))
    np.testing.assert_allclose(hv.numpy(), [6.0, 12.0])          # H = diag(6x)
    assert not x.requires_grad and x.grad is None and not hv.requires_grad


# ---------------------------------------------------------------------------- slice gradients (Placed)
def _slice_grads_reference(x, fn):
    """fn's gradient computed with every slice of x made a separate copy (no Placed anywhere)."""
    xc = leaf(x.detach().numpy())
    fn(xc).backward()
    return xc.grad.numpy()


@pytest.mark.parametrize("fn", [
    lambda x: sum(((p * (i + 1)) ** 2).sum() for i, p in enumerate(x.chunk(3, 1))),   # disjoint pieces
    lambda x: x[0].sum() + (x[:, 0] * 2).sum() + x[1:, 1:].exp().sum(),               # overlapping keys
    lambda x: x[0].sum() + (x * 3).sum() + x[:, -1].sum(),                             # slice + whole + slice
    lambda x: (x * 3).sum() + x[0].sum(),                                              # whole first
    lambda x: x[1, 2] * x[0, 0] + x[2].sum(),                                          # 0-d pieces
])
def test_slice_gradients_sum_like_separate_ones(fn):
    x = leaf(np.arange(12.0).reshape(3, 4) / 7)
    fn(x).backward()
    want = _slice_grads_reference(x, fn)
    np.testing.assert_allclose(x.grad.numpy(), want)
    if torch is not None:
        xt = torch.tensor(x.detach().numpy(), requires_grad=True)
        fn(xt).backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_slice_gradients_reach_hooks_retain_grad_and_grad_as_tensors():
    x = leaf(np.ones((2, 3)))
    seen = []
    x.register_hook(lambda g: seen.append(type(g)))
    h = x * 1.0
    h.retain_grad()
    a, b = h.chunk(2, 0)
    (a.sum() + 2 * b.sum()).backward()
    assert seen == [cr.Tensor] and isinstance(h.grad, cr.Tensor)
    np.testing.assert_array_equal(h.grad.numpy(), [[1, 1, 1], [2, 2, 2]])
    (gx,) = cr.autograd.grad(x[0].sum() + x[:, 1].sum(), x)
    np.testing.assert_array_equal(gx.numpy(), [[1, 2, 1], [0, 1, 0]])


def test_anomaly_mode_sees_a_nan_slice_gradient():
    x = leaf([[1.0, -1.0], [2.0, 3.0]])
    with cr.autograd.detect_anomaly():
        y = x[0]
        with pytest.raises(RuntimeError, match=r"'\w+Backward0' returned nan values in its 0th output"):
            y.backward(cr.tensor([float("nan"), 1.0], dtype=cr.float64))   # the slice's own rule passes it on


def test_anomaly_message_names_the_forward_op_without_its_backward_suffix():
    x = leaf([1.0, 2.0])
    with cr.autograd.detect_anomaly():
        y = x * 1.0
        with pytest.raises(RuntimeError, match=r"The forward op Mul was created at"):
            y.backward(cr.tensor([float("nan"), 1.0], dtype=cr.float64))
