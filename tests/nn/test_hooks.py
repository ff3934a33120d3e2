"""Module hooks vs PyTorch: forward pre-hooks / forward hooks (see and replace args / output, kwargs,
prepend, removal) and full backward (pre-)hooks: grad_input and grad_output equal torch's for a Linear, a
Sequential and a two-input Bilinear; a hook that returns new gradients changes the upstream gradients
exactly as in torch; no input requiring grad; several hooks chained; retain_graph."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from oracle import needs_torch, torch

if torch is not None:
    import torch.nn as tnn


def _np(g):
    return None if g is None else g.detach().numpy().copy()


def _copy(cm, tm):
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


# ------------------------------------------------------------------ forward hooks
def test_forward_pre_hook_sees_and_replaces_args():
    lin = nn.Linear(3, 2)
    seen = []
    h = lin.register_forward_pre_hook(lambda m, args: seen.append((m, args)))
    x = cr.randn(4, 3)
    lin(x)
    assert seen[0][0] is lin and seen[0][1][0] is x and isinstance(seen[0][1], tuple)
    h.remove()
    lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))       # a tuple replaces args
    np.testing.assert_allclose(lin(x).detach().numpy(), np.broadcast_to(lin.bias.detach().numpy(), (4, 2)))
    lin2 = nn.Linear(3, 2)
    lin2.register_forward_pre_hook(lambda m, args: args[0] * 0)         # a single value is wrapped
    np.testing.assert_allclose(lin2(x).detach().numpy(), np.broadcast_to(lin2.bias.detach().numpy(), (4, 2)))
    assert len(seen) == 1                                               # the removed hook stayed removed


def test_forward_hook_sees_and_replaces_output():
    lin = nn.Linear(3, 2)
    x = cr.randn(4, 3)
    seen = []
    lin.register_forward_hook(lambda m, args, out: seen.append((args, out)))
    y = lin(x)
    assert seen[0][0][0] is x and seen[0][1] is y
    h = lin.register_forward_hook(lambda m, args, out: out * 10)
    np.testing.assert_allclose(lin(x).detach().numpy(), 10 * y.detach().numpy(), rtol=1e-6)
    h.remove()
    np.testing.assert_allclose(lin(x).detach().numpy(), y.detach().numpy())
    with lin.register_forward_hook(lambda m, a, o: o + 1):              # handles are context managers
        np.testing.assert_allclose(lin(x).detach().numpy(), y.detach().numpy() + 1, rtol=1e-6)
    np.testing.assert_allclose(lin(x).detach().numpy(), y.detach().numpy())


def test_hooks_run_in_order_prepend_and_kwargs():
    class Affine(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m, order = Affine(), []
    m.register_forward_hook(lambda mod, a, o: order.append("first"))
    m.register_forward_hook(lambda mod, a, o: order.append("zero"), prepend=True)
    m.register_forward_hook(lambda mod, a, kw, o: order.append(("kw", dict(kw))), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"scale": kw.get("scale", 1.0) * 2}), with_kwargs=True)
    out = m(cr.tensor([1.0]), scale=3.0)
    assert out.item() == 6.0
    assert order == ["zero", "first", ("kw", {"scale": 6.0})]


def test_hooks_fire_for_submodules_of_a_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shapes = {}
    for name, mod in model.named_modules():
        mod.register_forward_hook(lambda m, a, o, name=name: shapes.update({name: tuple(o.shape)}))
    model(cr.randn(5, 3))
    assert shapes == {"": (5, 2), "0": (5, 4), "1": (5, 4), "2": (5, 2)}


# ------------------------------------------------------------------ full backward hooks vs torch
def _recorder(store, replace=None):
    def hook(m, grad_input, grad_output):
        store.append(([_np(g) for g in grad_input], [_np(g) for g in grad_output]))
        if replace is not None:
            return replace(grad_input)
    return hook


def _run_both(make, inputs, replace=None, requires=None, pre=None):
    """Build the same module in both libraries, hook it, run forward + backward; return everything."""
    tm = make(tnn)
    cm = make(nn).double()
    _copy(cm, tm)
    rec_c, rec_t = [], []
    cm.register_full_backward_hook(_recorder(rec_c, replace))
    tm.register_full_backward_hook(_recorder(rec_t, replace))
    if pre is not None:
        cm.register_full_backward_pre_hook(pre)
        tm.register_full_backward_pre_hook(pre)
    req = requires or [True] * len(inputs)
    xc = [cr.tensor(a, requires_grad=r) for a, r in zip(inputs, req)]
    xt = [torch.tensor(a, requires_grad=r) for a, r in zip(inputs, req)]
    # the inputs go through an op first, so the upstream gradient is visible in the leaves' .grad
    yc, yt = cm(*[x * 1.5 for x in xc]), tm(*[x * 1.5 for x in xt])
    g = np.random.default_rng(9).standard_normal(tuple(yt.shape))
    (yc * cr.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    return cm, tm, xc, xt, rec_c, rec_t


def _assert_same(cm, tm, xc, xt, rec_c, rec_t):
    assert len(rec_c) == len(rec_t) == 1
    for side in (0, 1):
        assert len(rec_c[0][side]) == len(rec_t[0][side])
        for a, b in zip(rec_c[0][side], rec_t[0][side]):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(xc, xt):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (n, p), q in zip(cm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def _linear(N):
    return N.Linear(3, 2)


def _mlp(N):
    return N.Sequential(N.Linear(3, 5), N.Tanh(), N.Linear(5, 2))


def _bilinear(N):
    return N.Bilinear(3, 4, 2)


X3 = np.random.default_rng(0).standard_normal((4, 3))
X4 = np.random.default_rng(1).standard_normal((4, 4))


@needs_torch
@pytest.mark.parametrize("make,inputs", [(_linear, [X3]), (_mlp, [X3]), (_bilinear, [X3, X4])],
                         ids=["linear", "sequential", "bilinear"])
def test_full_backward_hook_values_match_torch(make, inputs):
    _assert_same(*_run_both(make, inputs))


@needs_torch
@pytest.mark.parametrize("make,inputs", [(_linear, [X3]), (_mlp, [X3]), (_bilinear, [X3, X4])],
                         ids=["linear", "sequential", "bilinear"])
def test_hook_returning_new_grad_input_changes_upstream_as_torch(make, inputs):
    def replace(grad_input):          # different scale per input, so mixing them up would show
        return tuple(None if g is None else g * (i + 2.0) for i, g in enumerate(grad_input))
    cm, tm, xc, xt, rec_c, rec_t = _run_both(make, inputs, replace=replace)
    _assert_same(cm, tm, xc, xt, rec_c, rec_t)
    # and it really changed them: dL/dx = 1.5 · (i + 2) · grad_input_i
    for i, x in enumerate(xc):
        np.testing.assert_allclose(x.grad.numpy(), 1.5 * (i + 2.0) * rec_c[0][0][i], rtol=1e-12)


@needs_torch
def test_bilinear_hook_with_one_input_not_requiring_grad():
    _assert_same(*_run_both(_bilinear, [X3, X4], requires=[False, True]))


@needs_torch
def test_hook_when_no_input_requires_grad_matches_torch():
    with pytest.warns(UserWarning):           # torch warns that it fires on the outputs' gradients
        cm, tm, xc, xt, rec_c, rec_t = _run_both(_mlp, [X3], requires=[False])
    assert rec_c[0][0] == [None]
    _assert_same(cm, tm, xc, xt, rec_c, rec_t)


@needs_torch
def test_backward_pre_hook_replaces_grad_output_as_torch():
    seen = []

    def pre(m, grad_output):
        seen.append(_np(grad_output[0]))
        return (grad_output[0] * -3.0,)

    cm, tm, xc, xt, rec_c, rec_t = _run_both(_mlp, [X3], pre=pre)
    _assert_same(cm, tm, xc, xt, rec_c, rec_t)
    np.testing.assert_allclose(seen[0], seen[1])
    np.testing.assert_allclose(rec_c[0][1][0], -3.0 * seen[0])     # the full hook sees the new grad_output


def test_several_backward_hooks_chain_and_remove():
    lin = nn.Linear(3, 2, dtype=cr.float64)
    calls = []
    h1 = lin.register_full_backward_hook(lambda m, gi, go: (calls.append("a"), (gi[0] * 2,))[1])
    lin.register_full_backward_hook(lambda m, gi, go: (calls.append(_np(gi[0])), None)[1])
    x = cr.tensor(X3, requires_grad=True)
    lin(x).sum().backward()
    base = lin.weight.detach().numpy().sum(0)                        # dL/dx without hooks
    np.testing.assert_allclose(calls[1], np.broadcast_to(2 * base, (4, 3)))   # second hook saw the doubled one
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(2 * base, (4, 3)))
    h1.remove()
    x.grad = None
    lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(base, (4, 3)))


def test_backward_hook_fires_once_per_backward_with_retain_graph():
    lin = nn.Linear(3, 2)
    n = []
    lin.register_full_backward_hook(lambda m, gi, go: n.append(1))
    y = lin(cr.randn(4, 3, requires_grad=True)).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(n) == 2


def test_backward_hook_wrong_number_of_gradients_is_a_clear_error():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients.*1 positional input"):
        lin(cr.randn(4, 3, requires_grad=True)).sum().backward()


def test_backward_hooks_do_not_run_under_no_grad_and_forward_values_unchanged():
    lin = nn.Linear(3, 2)
    x = cr.randn(4, 3)
    ref = lin(x).detach().numpy()
    lin.register_full_backward_hook(lambda m, gi, go: None)
    with cr.no_grad():
        y = lin(x)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(lin(x).detach().numpy(), ref)


def test_module_returning_a_tuple_with_backward_hook():
    class Split(nn.Module):
        def forward(self, x):
            return x * 2, x * 3, 7

    m = Split()
    rec = []
    m.register_full_backward_hook(lambda mod, gi, go: rec.append((gi, go)))
    x = cr.randn(3, requires_grad=True)
    a, b, c = m(x)
    assert c == 7
    (a.sum() + 10 * b.sum()).backward()
    gi, go = rec[0]
    np.testing.assert_allclose(go[0].numpy(), 1.0)
    np.testing.assert_allclose(go[1].numpy(), 10.0)
    np.testing.assert_allclose(gi[0].numpy(), 32.0)
    np.testing.assert_allclose(x.grad.numpy(), 32.0)
