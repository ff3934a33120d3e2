"""Recurrent layers (RNN tanh/relu, LSTM, GRU) and cells against PyTorch, plus gradchecks of the fused node.

Every module comparison loads the torch module's state_dict into the chainrule module (so the names, shapes
and gate layouts must agree), runs the same float64 input and initial states through both, and compares
output, h_n (and c_n) and the gradients of the input, the initial states and every parameter, for a
random weighting of all outputs at once. The fused per-layer node (``RNNSequence``) is also checked
against finite differences, and its create_graph path with gradgradcheck and against torch's double
backward.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.ops import rnn as R
from oracle import check_gradcheck, needs_torch, torch

ATOL = 1e-10
T, B, I, H = 4, 3, 5, 6
MODES = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


def _pair(kind, *args, seed=0, **kw):
    """A torch module (default init, seeded) and a float64 chainrule module loaded from its state_dict."""
    torch.manual_seed(seed)
    tmod = getattr(torch.nn, kind)(*args, **kw)
    cmod = getattr(nn, kind)(*args, **kw).double()
    sd = {k: v.detach().numpy() for k, v in tmod.state_dict().items()}
    assert list(sd) == list(cmod.state_dict()), "state-dict names differ from PyTorch's"
    for k, v in cmod.state_dict().items():
        assert tuple(v.shape) == tuple(sd[k].shape), k
    cmod.load_state_dict(sd)
    return cmod, tmod


def _close(a, b, what, atol=ATOL):
    assert tuple(a.shape) == tuple(b.shape), f"{what}: shape {tuple(a.shape)} vs torch {tuple(b.shape)}"
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=1e-8, err_msg=what)


def _flat(outputs):
    """(out, h) or (out, (h, c)) -> [out, h(, c)]"""
    out, hid = outputs
    return [out] + (list(hid) if isinstance(hid, tuple) else [hid])


def compare(cmod, tmod, x, states=None, seed=5, train=False, atol=ATOL):
    """Forward x (and initial states) through both; compare all outputs and all gradients."""
    cmod.train(train)
    tmod.train(train)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sc = st = None
    if states is not None:
        sc = [cr.tensor(s, requires_grad=True) for s in states]
        st = [torch.tensor(s, requires_grad=True) for s in states]
    pack = (lambda s: None if s is None else (s[0] if len(s) == 1 else tuple(s)))
    oc, ot = _flat(cmod(xc, pack(sc))), _flat(tmod(xt, pack(st)))
    for i, (a, b) in enumerate(zip(oc, ot)):
        _close(a, b, ["output", "h_n", "c_n"][i], atol)
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(tuple(b.shape)) for b in ot]
    sum((a * cr.tensor(w)).sum() for a, w in zip(oc, ws)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(ot, ws)).backward()
    _close(xc.grad, xt.grad, "input grad", atol)
    for i, (a, b) in enumerate(zip(sc or [], st or [])):
        _close(a.grad, b.grad, f"grad of initial state {i}", atol)
    tparams = dict(tmod.named_parameters())
    for name, p in cmod.named_parameters():
        assert p.grad is not None, name
        _close(p.grad, tparams[name].grad, f"grad of {name}", atol)
    return oc


def _states(kind, n, b, h=H, seed=1):
    rng = np.random.default_rng(seed)
    shape = (n, b, h) if b is not None else (n, h)
    return [rng.standard_normal(shape) for _ in range(2 if kind == "LSTM" else 1)]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------------ modules
@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("batch_first, bias", [(False, True), (True, True), (False, False), (True, False)])
def test_module_matches_torch(kind, extra, num_layers, bidirectional, batch_first, bias):
    cmod, tmod = _pair(kind, I, H, num_layers=num_layers, bias=bias, batch_first=batch_first,
                       bidirectional=bidirectional, **extra)
    x = _x((B, T, I) if batch_first else (T, B, I))
    n = num_layers * (2 if bidirectional else 1)
    compare(cmod, tmod, x)                                   # zero initial states
    compare(cmod, tmod, x, _states(kind, n, B))              # given initial states (with gradients)


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_matches_torch(kind, extra, batch_first):
    cmod, tmod = _pair(kind, I, H, num_layers=2, bidirectional=True, batch_first=batch_first, **extra)
    x = _x((T, I))
    outs = compare(cmod, tmod, x)
    assert tuple(outs[0].shape) == (T, 2 * H) and tuple(outs[1].shape) == (4, H)
    compare(cmod, tmod, x, _states(kind, 4, None))


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_single_step_and_long_sequence(kind, extra):
    cmod, tmod = _pair(kind, I, H, bidirectional=True, **extra)
    compare(cmod, tmod, _x((1, B, I)), _states(kind, 2, B))
    compare(cmod, tmod, _x((30, 2, I), seed=4), _states(kind, 2, 2), atol=1e-9)


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_dropout_eval_mode_and_train_semantics(kind, extra):
    cmod, tmod = _pair(kind, I, H, num_layers=3, dropout=0.5, **extra)
    x = _x((T, B, I))
    compare(cmod, tmod, x, train=False)                      # eval: no dropout at all
    # p = 1 zeroes the whole input of layers 1 and 2 (deterministic) - and, not applied after the last
    # layer, leaves the output nonzero: equal to torch's in train mode
    cmod1, tmod1 = _pair(kind, I, H, num_layers=2, dropout=1.0, **extra)
    outs = compare(cmod1, tmod1, x, _states(kind, 2, B), train=True)
    assert np.abs(outs[0].detach().numpy()).max() > 0
    # p = 0.5 in train mode: a different output from eval mode, reproducible under manual_seed
    cmod.train()
    cr.manual_seed(3)
    y1 = _flat(cmod(cr.tensor(x)))[0].detach().numpy()
    cr.manual_seed(3)
    y2 = _flat(cmod(cr.tensor(x)))[0].detach().numpy()
    cmod.eval()
    y_eval = _flat(cmod(cr.tensor(x)))[0].detach().numpy()
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(y1, y_eval)


@needs_torch
def test_dropout_with_one_layer_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        cmod = nn.LSTM(I, H, dropout=0.5).double()
    x = cr.tensor(_x((T, B, I)))
    cmod.train()
    y_train = cmod(x)[0].detach().numpy()
    cmod.eval()
    np.testing.assert_array_equal(y_train, cmod(x)[0].detach().numpy())


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_float32_matches_torch(kind, extra):
    torch.manual_seed(0)
    tmod = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True, **extra).float()
    cmod = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, **extra)
    cmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    x = _x((T, B, I)).astype(np.float32)
    oc, ot = _flat(cmod(cr.tensor(x))), _flat(tmod(torch.tensor(x)))
    for a, b in zip(oc, ot):
        assert a.dtype == cr.float32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-6, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_gradient_for_only_some_inputs(kind, extra):
    """Frozen weights: only the initial state's (or only the input's) gradient is asked for."""
    cmod, tmod = _pair(kind, I, H, num_layers=2, bidirectional=True, **extra)
    for m in (cmod, tmod):
        m.requires_grad_(False)
    x = _x((T, B, I))
    states = _states(kind, 4, B)
    for want_x in (True, False):
        xc, xt = cr.tensor(x, requires_grad=want_x), torch.tensor(x, requires_grad=want_x)
        sc = [cr.tensor(s, requires_grad=not want_x) for s in states]
        st = [torch.tensor(s, requires_grad=not want_x) for s in states]
        pack = (lambda s: s[0] if len(s) == 1 else tuple(s))
        oc, ot = _flat(cmod(xc, pack(sc))), _flat(tmod(xt, pack(st)))
        w = _x(tuple(ot[0].shape), seed=2)
        (oc[0] * cr.tensor(w)).sum().backward()
        (ot[0] * torch.tensor(w)).sum().backward()
        pairs = [(xc, xt)] if want_x else list(zip(sc, st))
        for a, b in pairs:
            _close(a.grad, b.grad, "gradient")
        assert all(p.grad is None for p in cmod.parameters())


# ------------------------------------------------------------------------------------------------ cells
CELLS = [("RNNCell", {"nonlinearity": "tanh"}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]


@needs_torch
@pytest.mark.parametrize("kind, extra", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(kind, extra, bias, batched, with_state):
    cmod, tmod = _pair(kind, I, H, bias=bias, **extra)
    x = _x((B, I) if batched else (I,))
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lstm = kind == "LSTMCell"
    sc = st = None
    if with_state:
        arrs = [_x((B, H) if batched else (H,), seed=s) for s in (1, 2)][:2 if lstm else 1]
        sc = [cr.tensor(a, requires_grad=True) for a in arrs]
        st = [torch.tensor(a, requires_grad=True) for a in arrs]
    pack = (lambda s: None if s is None else (tuple(s) if lstm else s[0]))
    oc, ot = cmod(xc, pack(sc)), tmod(xt, pack(st))
    oc, ot = (list(oc), list(ot)) if lstm else ([oc], [ot])
    for a, b in zip(oc, ot):
        _close(a, b, "cell output")
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(b.shape)) for b in ot]
    sum((a * cr.tensor(w)).sum() for a, w in zip(oc, ws)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(ot, ws)).backward()
    _close(xc.grad, xt.grad, "input grad")
    for a, b in zip(sc or [], st or []):
        _close(a.grad, b.grad, "state grad")
    tparams = dict(tmod.named_parameters())
    for name, p in cmod.named_parameters():
        _close(p.grad, tparams[name].grad, f"grad of {name}")


@needs_torch
@pytest.mark.parametrize("kind, extra", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_unrolled_over_a_sequence(kind, extra):
    """A user loop of cell steps: gradients flow through the carried state into every step's weights."""
    cmod, tmod = _pair(kind, I, H, **extra)
    x = _x((T, B, I))
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lstm = kind == "LSTMCell"
    hc = ht = None
    loss_c = loss_t = 0
    for t in range(T):
        hc, ht = cmod(xc[t], hc), tmod(xt[t], ht)
        oc, ot = (hc[0], ht[0]) if lstm else (hc, ht)
        loss_c = loss_c + (oc * (t + 1)).sum()
        loss_t = loss_t + (ot * (t + 1)).sum()
    _close(loss_c, loss_t, "loss")
    loss_c.backward()
    loss_t.backward()
    _close(xc.grad, xt.grad, "input grad")
    tparams = dict(tmod.named_parameters())
    for name, p in cmod.named_parameters():
        _close(p.grad, tparams[name].grad, f"grad of {name}")


# ------------------------------------------------------------------------------------------------ the fused node
def _layer_arrays(mode, t=3, b=2, i=3, h=2, seed=0):
    g = R.GATES[mode]
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((t, b, i)), rng.standard_normal((b, h)), rng.standard_normal((b, h)),
            rng.standard_normal((g * h, i)) * 0.7, rng.standard_normal((g * h, h)) * 0.7,
            rng.standard_normal(g * h) * 0.5, rng.standard_normal(g * h) * 0.5]


def _layer_fn(mode, reverse, with_c0=True):
    def fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        if mode != "LSTM" or not with_c0:
            c0 = None
        return R.RNNSequence.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode=mode, reverse=reverse)
    return fn


@pytest.mark.parametrize("mode", list(R.GATES))
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_node_gradcheck(mode, reverse):
    arrays = _layer_arrays(mode)
    if mode == "RNN_RELU":                           # keep pre-activations away from relu's kink
        arrays[3] = np.abs(arrays[3])
        arrays[0] = np.abs(arrays[0]) + 0.1
    requires = [True, True, mode == "LSTM", True, True, True, True]
    check_gradcheck(_layer_fn(mode, reverse), arrays, requires=requires)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_fused_node_gradcheck_without_states_or_bias(mode):
    x, _, _, w_ih, w_hh, _, _ = _layer_arrays(mode, seed=2)

    def fn(x, w_ih, w_hh):
        return R.RNNSequence.apply(x, None, None, w_ih, w_hh, None, None, mode=mode, reverse=False)
    check_gradcheck(fn, [x, w_ih, w_hh])


@pytest.mark.parametrize("mode", list(R.GATES))
def test_fused_node_equals_stepwise_reference(mode):
    """The fused node and the step-by-step composition of primitive ops (its create_graph path) agree."""
    arrays = _layer_arrays(mode, t=5, b=3, i=4, h=3, seed=1)
    for reverse in (False, True):
        xs = [cr.tensor(a, requires_grad=True) for a in arrays]
        c0 = xs[2] if mode == "LSTM" else None
        fused = R.RNNSequence.apply(xs[0], xs[1], c0, *xs[3:], mode=mode, reverse=reverse)
        ref = R._reference(mode, xs[0], xs[1], c0, *xs[3:], reverse=reverse)
        np.testing.assert_allclose(fused.detach().numpy(), ref.detach().numpy(), atol=1e-13)
        w = cr.tensor(np.random.default_rng(0).standard_normal(tuple(ref.shape)))
        wanted = [x for x in xs if x is not xs[2] or mode == "LSTM"]
        g1 = cr.autograd.grad((fused * w).sum(), wanted)
        g2 = cr.autograd.grad((ref * w).sum(), wanted)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)


@pytest.mark.parametrize("mode", list(R.GATES))
def test_fused_node_gradgradcheck(mode):
    arrays = _layer_arrays(mode, t=2, b=2, i=2, h=2, seed=3)
    if mode == "RNN_RELU":
        arrays[3] = np.abs(arrays[3])
        arrays[0] = np.abs(arrays[0]) + 0.1
    xs = [cr.tensor(a, requires_grad=(mode == "LSTM" or k != 2)) for k, a in enumerate(arrays)]
    assert cr.autograd.gradgradcheck(_layer_fn(mode, reverse=True), xs, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("mode", list(R.GATES))
def test_first_order_equals_create_graph_gradients(mode):
    """The rule is written once: loss.backward() (raw BPTT) and autograd.grad(create_graph=True) (the same
    kernel, recorded as RNNSequenceGrad) give the same gradients, bit for bit, and the latter are
    differentiable (their graph reaches the inputs through RNNSequenceGrad)."""
    arrays = _layer_arrays(mode, t=4, b=3, i=2, h=3, seed=5)
    for reverse in (False, True):
        xs = [cr.tensor(a, requires_grad=True) for a in arrays]
        c0 = xs[2] if mode == "LSTM" else None
        wanted = [x for x in xs if x is not xs[2] or mode == "LSTM"]
        y = R.RNNSequence.apply(xs[0], xs[1], c0, *xs[3:], mode=mode, reverse=reverse)
        loss = (y * cr.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))).sum()
        second = cr.autograd.grad(loss, wanted, create_graph=True)
        loss.backward()
        for x, g in zip(wanted, second):
            assert g.requires_grad and g.grad_fn is not None
            np.testing.assert_array_equal(x.grad.numpy(), g.detach().numpy())


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_double_backward_matches_torch(kind, extra):
    """d/d(params, x) of |dL/dW_hh|²: create_graph through the node, compared with torch."""
    cmod, tmod = _pair(kind, I, H, num_layers=2, bidirectional=True, **extra)
    x = _x((T, B, I))
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = _flat(cmod(xc))[0], _flat(tmod(xt))[0]
    w = _x(tuple(yt.shape), seed=9)
    gc, = cr.autograd.grad((yc * cr.tensor(w)).sum(), [cmod.weight_hh_l0], create_graph=True)
    gt, = torch.autograd.grad((yt * torch.tensor(w)).sum(), [tmod.weight_hh_l0], create_graph=True)
    _close(gc, gt, "first gradient")
    (gc ** 2).sum().backward()
    (gt ** 2).sum().backward()
    tparams = dict(tmod.named_parameters())
    pairs = [("input", xc, xt)] + [(n, p, tparams[n]) for n, p in cmod.named_parameters()]
    for name, p, tp in pairs:
        if p.grad is None or tp.grad is None:        # None = zero (e.g. relu has no second derivative)
            for g in (p.grad, tp.grad):
                assert g is None or not np.any(g.detach().numpy()), f"second-order grad of {name}"
        else:
            _close(p.grad, tp.grad, f"second-order grad of {name}", atol=1e-9)


# ------------------------------------------------------------------------------------------------ graph, state
def _graph_size(t):
    nodes, stack = set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or n in nodes or not hasattr(n, "_edges"):
            continue
        nodes.add(n)
        stack.extend(e for e in n._edges if e is not None and hasattr(e, "_edges"))
    return len(nodes)


def test_graph_size_does_not_grow_with_sequence_length():
    m = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    sizes = [_graph_size(m(cr.randn(n, B, I))[0]) for n in (2, 50)]
    assert sizes[0] == sizes[1] <= 12


def test_in_place_change_of_output_is_detected():
    for m in (nn.GRU(I, H), nn.LSTM(I, H)):
        out, _ = m(cr.randn(T, B, I))
        with cr.no_grad():
            out.mul_(2)                              # overwrites the values the backward would read
        # caught either by the saved-output version check, or - once any in-place op has re-based a tensor in
        # this process (VIEWS.rebased; earlier tests do) - already when the stale view is recorded
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified in place"):
            out.sum().backward()


def test_retain_graph_backward_twice_doubles_the_gradient():
    m = nn.LSTM(I, H).double()
    x = cr.tensor(_x((T, B, I)), requires_grad=True)
    out, (h, c) = m(x)
    loss = out.sum() + (c * 2).sum()
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-12)


def test_no_grad_forward_records_nothing():
    m = nn.GRU(I, H, num_layers=2)
    with cr.no_grad():
        out, h = m(cr.randn(T, B, I))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


@needs_torch
@pytest.mark.parametrize("kind, extra", MODES + CELLS)
def test_parameters_names_shapes_init_and_repr_as_torch(kind, extra):
    kwargs = dict(extra)
    if not kind.endswith("Cell"):
        kwargs.update(num_layers=2, bidirectional=True)
    cr.manual_seed(0)
    c, t = getattr(nn, kind)(7, 40, **kwargs), getattr(torch.nn, kind)(7, 40, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in c.named_parameters()] == \
        [(k, tuple(v.shape)) for k, v in t.named_parameters()]
    assert repr(c) == repr(t)
    bound = 1 / np.sqrt(40)
    for name, p in c.named_parameters():
        a = p.detach().numpy()
        assert a.dtype == np.float32
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound, name     # U(-1/√H, 1/√H)
        assert abs(a.mean()) < 4 * bound / np.sqrt(3 * a.size), name                  # 4 standard errors
    for args, kw in [((3, 4), {"bias": False, "batch_first": True, "dropout": 0.25, "num_layers": 2}), ((3, 4), {})]:
        if not kind.endswith("Cell"):
            assert repr(getattr(nn, kind)(*args, **kw)) == repr(getattr(torch.nn, kind)(*args, **kw))


def test_all_weights_and_flatten_parameters():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False)
    assert [[tuple(w.shape) for w in ws] for ws in m.all_weights] == \
        [[(12, 3), (12, 4)]] * 2 + [[(12, 8), (12, 4)]] * 2
    m.flatten_parameters()


# ------------------------------------------------------------------------------------------------ errors
def test_wrong_input_size_names_expected_and_got():
    for m in (nn.RNN(10, 4), nn.LSTM(10, 4, batch_first=True), nn.GRU(10, 4)):
        with pytest.raises(RuntimeError, match=r"input_size\. Expected 10, got 7"):
            m(cr.randn(5, 3, 7))
    for m in (nn.RNNCell(10, 4), nn.LSTMCell(10, 4), nn.GRUCell(10, 4)):
        with pytest.raises(RuntimeError, match="input_size: got 7 expected 10"):
            m(cr.randn(3, 7))


def test_wrong_hidden_state_shapes():
    m = nn.LSTM(10, 20, num_layers=2)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 20\), got \[2, 3, 5\]"):
        m(cr.randn(5, 3, 10), (cr.randn(2, 3, 5), cr.randn(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 20\), got \[1, 3, 20\]"):
        m(cr.randn(5, 3, 10), (cr.randn(2, 3, 20), cr.randn(1, 3, 20)))
    with pytest.raises(RuntimeError, match="hx should also be 3-D"):
        m(cr.randn(5, 3, 10), (cr.randn(2, 20), cr.randn(2, 20)))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        m(cr.randn(5, 10), (cr.randn(2, 1, 20), cr.randn(2, 1, 20)))
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        m(cr.randn(5, 3, 10), cr.randn(2, 3, 20))
    g = nn.GRU(10, 20, bidirectional=True)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 20\), got \[1, 3, 20\]"):
        g(cr.randn(5, 3, 10), cr.randn(1, 3, 20))
    c = nn.LSTMCell(10, 20)
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 20"):
        c(cr.randn(3, 10), (cr.randn(3, 5), cr.randn(3, 20)))
    with pytest.raises(RuntimeError, match="batch size 3 doesn't match hidden1"):
        c(cr.randn(3, 10), (cr.randn(3, 20), cr.randn(4, 20)))


def test_bad_input_rank_and_empty_sequence():
    with pytest.raises(RuntimeError, match="Expected input to be 2D or 3D, got 4D"):
        nn.GRU(3, 4)(cr.randn(2, 2, 2, 3))
    with pytest.raises(RuntimeError, match="Expected input to be 1D or 2D, got 3D"):
        nn.GRUCell(3, 4)(cr.randn(2, 2, 3))
    with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
        nn.LSTM(3, 4)(cr.randn(0, 2, 3))
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.RNN(3, 4)(np.zeros((2, 2, 3)))


def test_constructor_validation():
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.GRU(3, 4, 0)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
