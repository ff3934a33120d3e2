"""Optimisers over flat buffers: a group's parameters (of one dtype) and their state live in one contiguous
buffer each, the step runs over those; the results equal the per-tensor path to the bit, and the flat layout
follows rebinding of p.data, skipped parameters, load_state_dict, mixed dtypes."""
import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import optimizer as optimizer_module

CONFIGS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
           ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
           ("Adam", dict(lr=1e-2)), ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
           ("AdamW", dict(lr=1e-2)), ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
           ("Adagrad", dict(lr=0.1, lr_decay=0.01)), ("Adamax", dict(lr=1e-2)),
           ("NAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
           ("Adadelta", dict(lr=1.0, weight_decay=0.1))]
X = np.random.default_rng(0).standard_normal((10, 16, 5)).astype(np.float32)


def make_model():
    cr.manual_seed(0)
    return cr.nn.Sequential(cr.nn.Linear(5, 8), cr.nn.Tanh(), cr.nn.Linear(8, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))


def train(name, kw, steps=10, skip=(), reload_at=None):
    model = make_model()
    opt = getattr(cr.optim, name)(model.parameters(), **kw)
    for i in range(steps):
        opt.zero_grad()
        (model(cr.tensor(X[i])) ** 2).mean().backward()
        if i in skip:
            model[2].weight.grad = None
        if i == reload_at:
            sd = copy.deepcopy(opt.state_dict())
            opt = getattr(cr.optim, name)(model.parameters(), **kw)
            opt.load_state_dict(sd)
        opt.step()
    return model, opt


def arrays(model, opt):
    out = [p.detach().numpy().copy() for p in model.parameters()]
    for st in opt.state_dict()["state"].values():
        out += [v.numpy().copy() for _, v in sorted(st.items())]
    return out


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}{kw}" for n, kw in CONFIGS])
@pytest.mark.parametrize("schedule", [{}, {"skip": (3, 4), "reload_at": 6}], ids=["plain", "skip+reload"])
def test_flat_path_equals_per_tensor_path_bitwise(name, kw, schedule, monkeypatch):
    flat = arrays(*train(name, kw, **schedule))
    monkeypatch.setattr(optimizer_module._FlatBucket, "step", lambda self, opt, group, hp: False)
    each = arrays(*train(name, kw, **schedule))
    assert len(flat) == len(each)
    for a, b in zip(flat, each):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_parameters_and_state_are_views_into_one_buffer():
    model, opt = train("Adam", dict(lr=1e-2), steps=2)
    params = list(model.parameters())
    bases = {id(p._data.base) for p in params}
    assert len(bases) == 1 and params[0]._data.base is not None
    for key in ("exp_avg", "exp_avg_sq", "step"):
        assert len({id(opt.state[p][key]._data.base) for p in params}) == 1, key


def test_rebinding_p_data_is_followed():
    model, opt = train("SGD", dict(lr=0.5), steps=1)
    w = model[0].weight
    w.data = cr.ones(8, 5)                                   # a new array, outside the flat buffer
    opt.zero_grad()
    (model(cr.tensor(X[0])) ** 2).mean().backward()
    g = w.grad.numpy().copy()
    opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), (np.ones((8, 5), np.float32) + g * np.float32(-0.5)))
    assert w._data.base is model[0].bias._data.base          # flattened again


def test_skipped_parameter_keeps_its_step_count():
    model, opt = train("Adam", dict(lr=1e-2), steps=5, skip=(1, 2))
    steps = {p: float(opt.state[p]["step"]) for p in model.parameters()}
    assert steps[model[2].weight] == 3 and steps[model[0].weight] == 5


def test_mixed_dtypes_in_one_group():
    a = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    b = cr.tensor(np.ones((2, 2), np.float64), requires_grad=True)
    opt = cr.optim.Adam([a, b], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (a.sum() * 2 + (b * b).sum()).backward()
        opt.step()
    assert a.dtype == cr.float32 and b.dtype == cr.float64
    assert opt.state[a]["exp_avg"].dtype == cr.float32 and opt.state[b]["exp_avg"].dtype == cr.float64
    ref = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    ropt = cr.optim.Adam([ref], lr=0.1)
    for _ in range(3):
        ropt.zero_grad()
        (ref.sum() * 2).backward()
        ropt.step()
    np.testing.assert_array_equal(a.detach().numpy(), ref.detach().numpy())


def test_parameter_changing_dtype_gets_its_own_buffer():
    model, opt = train("SGD", dict(lr=0.1), steps=1)
    w = model[0].weight
    w.data = w.data.double()
    for _ in range(2):
        opt.zero_grad()
        for p in model.parameters():
            p.grad = cr.ones_like(p)
        before = [p.detach().numpy().copy() for p in model.parameters()]
        opt.step()
        for p, b in zip(model.parameters(), before):
            assert p.dtype == (cr.float64 if p is w else cr.float32)
            np.testing.assert_allclose(p.detach().numpy(), b - 0.1, rtol=1e-6)


def test_duplicate_parameter_is_updated_per_listing_as_before():
    a = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate"):
        opt = cr.optim.SGD([a, a], lr=1.0)
    a.grad = cr.ones(2)
    opt.step()
    np.testing.assert_array_equal(a.detach().numpy(), [-2.0, -2.0])


def test_parameter_without_grad_stays_out_of_the_flat_step():
    model = make_model()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    unused = model[4].weight
    before = unused.detach().numpy().copy()
    for i in range(3):
        opt.zero_grad()
        (model(cr.tensor(X[i])) ** 2).mean().backward()
        unused.grad = None
        opt.step()
    np.testing.assert_array_equal(unused.detach().numpy(), before)
    assert unused not in opt.state
    others = [p for p in model.parameters() if p is not unused]
    assert len({id(p._data.base) for p in others}) == 1 and others[0]._data.base is not None   # flat step
    assert all(float(opt.state[p]["step"]) == 3 for p in others)


def test_optimizer_without_step_or_apply_says_so():
    class Nothing(cr.optim.Optimizer):
        pass

    a = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    a.grad = cr.ones(2)
    with pytest.raises(NotImplementedError, match="Nothing defines neither step"):
        Nothing([a], {"lr": 0.1}).step()


def test_load_state_dict_then_steps_continue_flat():
    model, opt = train("Adam", dict(lr=1e-2), steps=3)
    sd = copy.deepcopy(opt.state_dict())
    opt.load_state_dict(sd)
    params = list(model.parameters())
    assert opt.state[params[0]]["exp_avg"]._data.base is None        # loaded: its own copy
    opt.zero_grad()
    (model(cr.tensor(X[0])) ** 2).mean().backward()
    opt.step()
    assert len({id(opt.state[p]["exp_avg"]._data.base) for p in params}) == 1   # gathered into one buffer
    assert all(float(opt.state[p]["step"]) == 4 for p in params)
