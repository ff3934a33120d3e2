"""Optimisers vs PyTorch: the same float64 model, weights and data through chainrule and torch.optim,
20 steps, parameters (and optimiser state) equal; state_dict round trips; gradient accumulation; errors."""
import copy
import itertools

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

pytestmark = needs_torch

STEPS = 20
RNG = np.random.default_rng(0)
X = RNG.standard_normal((STEPS, 16, 4))
Y = RNG.standard_normal((STEPS, 16, 3))


def make_models(seed=0):
    """(chainrule model, torch model) with identical float64 weights: Linear(4,8) -> tanh -> Linear(8,3)."""
    torch.manual_seed(seed)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    cm = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3)).double()
    with cr.no_grad():
        for cp, tp in zip(cm.parameters(), tm.parameters()):
            cp.copy_(cr.tensor(tp.detach().numpy().copy()))
    return cm, tm


def cr_loss(cm, i):
    return cr.nn.functional.mse_loss(cm(cr.tensor(X[i])), cr.tensor(Y[i]))


def torch_loss(tm, i):
    return torch.nn.functional.mse_loss(tm(torch.tensor(X[i])), torch.tensor(Y[i]))


def train(opt, model, loss_fn, steps):
    for i in steps:
        opt.zero_grad()
        loss_fn(model, i).backward()
        opt.step()


def groups_of(model, spec):
    """spec None: model.parameters(); else a list of per-layer group options (layers 0 and 2)."""
    if spec is None:
        return model.parameters()
    layers = [model[0], model[2]]
    return [dict(params=list(layer.parameters()), **opts) for layer, opts in zip(layers, spec)]


def to_np(x):
    if isinstance(x, cr.Tensor):
        return x.numpy()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_params_equal(cm, tm, rtol=1e-9, atol=1e-10):
    for (name, cp), tp in zip(cm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(cp.detach().numpy(), tp.detach().numpy(), rtol=rtol, atol=atol, err_msg=name)


def assert_state_equal(copt, topt, rtol=1e-9, atol=1e-10):
    csd, tsd = copt.state_dict(), topt.state_dict()
    assert sorted(csd["state"]) == sorted(tsd["state"])
    for k, tst in tsd["state"].items():
        cst = csd["state"][k]
        assert sorted(cst) == sorted(tst), (k, sorted(cst), sorted(tst))
        for key, tv in tst.items():
            np.testing.assert_allclose(to_np(cst[key]), to_np(tv), rtol=rtol, atol=atol, err_msg=f"{k}/{key}")
    for cg, tg in zip(csd["param_groups"], tsd["param_groups"]):
        assert sorted(cg) == sorted(tg)
        assert cg["params"] == tg["params"]


def run_pair(name, kwargs, groups=None, steps=STEPS):
    cm, tm = make_models()
    copt = getattr(cr.optim, name)(groups_of(cm, groups), **kwargs)
    topt = getattr(torch.optim, name)(groups_of(tm, groups), **kwargs)
    train(copt, cm, cr_loss, range(steps))
    train(topt, tm, torch_loss, range(steps))
    return cm, tm, copt, topt


def grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, vals)) for vals in itertools.product(*axes.values())]


CONFIGS = (
    [("SGD", dict(lr=0.05, **c)) for c in grid(momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True],
                                               weight_decay=[0, 0.1], maximize=[False, True])
     if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))]
    + [("Adam", dict(lr=0.01, **c)) for c in grid(amsgrad=[False, True], weight_decay=[0, 0.1],
                                                  maximize=[False, True])]
    + [("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
       ("Adam", dict(lr=0.02, betas=(0.3, 0.5), eps=1e-3, amsgrad=True))]      # lerp's w >= 0.5 branch
    + [("AdamW", dict(lr=0.01, **c)) for c in grid(amsgrad=[False, True], weight_decay=[0, 0.1],
                                                   maximize=[False, True])]
    + [("AdamW", dict())]
    + [("Adagrad", dict(lr=0.05, **c)) for c in grid(lr_decay=[0, 0.01], weight_decay=[0, 0.1],
                                                     initial_accumulator_value=[0, 0.1], maximize=[False, True])]
    + [("Adagrad", dict(eps=1e-3))]
    + [("RMSprop", dict(lr=0.005, **c)) for c in grid(centered=[False, True], momentum=[0, 0.5],
                                                      weight_decay=[0, 0.1], maximize=[False, True])]
    + [("RMSprop", dict(alpha=0.5, eps=1e-4))]
    + [("Adamax", dict(lr=0.01, **c)) for c in grid(weight_decay=[0, 0.1], maximize=[False, True])]
    + [("Adamax", dict(betas=(0.4, 0.8), eps=1e-4))]
    + [("NAdam", dict(lr=0.01, **c)) for c in grid(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True],
                                                   maximize=[False, True])]
    + [("NAdam", dict(momentum_decay=0.05, betas=(0.5, 0.9)))]
)


def _id(cfg):
    name, kw = cfg
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


@pytest.fixture(autouse=True)
def same_default_dtype():
    """The oracle runs torch with default dtype float64; NAdam's 0-d ``mu_product`` takes the default float
    dtype in both libraries (PyTorch's ``_get_scalar_dtype``), so compare under the same default."""
    prev = cr.get_default_dtype()
    cr.set_default_dtype(cr.float64 if torch.get_default_dtype() == torch.float64 else cr.float32)
    yield
    cr.set_default_dtype(prev)


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_matches_torch(cfg):
    name, kwargs = cfg
    cm, tm, copt, topt = run_pair(name, kwargs)
    assert_params_equal(cm, tm)
    assert_state_equal(copt, topt)


GROUP_CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9), [dict(lr=0.2), dict(nesterov=True, weight_decay=0.1)]),
    ("Adam", dict(lr=0.01), [dict(lr=0.05, amsgrad=True), dict(betas=(0.8, 0.9), weight_decay=0.1)]),
    ("AdamW", dict(lr=0.01), [dict(lr=0.03), dict(weight_decay=0.3, maximize=True)]),
    ("Adagrad", dict(lr=0.05), [dict(lr=0.1, lr_decay=0.1), dict()]),
    ("RMSprop", dict(lr=0.005), [dict(lr=0.01, centered=True), dict(momentum=0.3)]),
    ("Adamax", dict(lr=0.01), [dict(lr=0.05), dict(weight_decay=0.2)]),
    ("NAdam", dict(lr=0.01), [dict(lr=0.03), dict(momentum_decay=0.01, weight_decay=0.1)]),
]


def test_nadam_mu_product_follows_default_dtype_like_torch():
    """With float32 as the default in both libraries, mu_product is float32 in both - still equal."""
    prev_t = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    cr.set_default_dtype(cr.float32)
    try:
        cm, tm, copt, topt = run_pair("NAdam", dict(lr=0.01))
        assert copt.state[cm[0].weight]["mu_product"].dtype == cr.float32
        assert topt.state[tm[0].weight]["mu_product"].dtype == torch.float32
        assert_params_equal(cm, tm)
        assert_state_equal(copt, topt)
    finally:
        torch.set_default_dtype(prev_t)


@pytest.mark.parametrize("name,kwargs,groups", GROUP_CONFIGS, ids=[g[0] for g in GROUP_CONFIGS])
def test_param_groups_match_torch(name, kwargs, groups):
    cm, tm, copt, topt = run_pair(name, kwargs, groups)
    assert_params_equal(cm, tm)
    assert_state_equal(copt, topt)
    assert [g["lr"] for g in copt.param_groups] == [g["lr"] for g in topt.param_groups]


def test_groups_filled_with_defaults_like_torch():
    for name, kwargs, groups in GROUP_CONFIGS:
        cm, tm = make_models()
        copt = getattr(cr.optim, name)(groups_of(cm, groups), **kwargs)
        topt = getattr(torch.optim, name)(groups_of(tm, groups), **kwargs)
        for cg, tg in zip(copt.param_groups, topt.param_groups):
            assert {k: v for k, v in cg.items() if k != "params"} == \
                   {k: v for k, v in tg.items() if k != "params"}, name


ROUND_TRIP = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01, amsgrad=True)),
              ("AdamW", dict(lr=0.01)), ("Adagrad", dict(lr=0.05, lr_decay=0.01)),
              ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)), ("Adamax", dict(lr=0.01)),
              ("NAdam", dict(lr=0.01))]


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[r[0] for r in ROUND_TRIP])
def test_state_dict_round_trip_resumes_exactly(name, kwargs):
    cm, _ = make_models()
    opt = getattr(cr.optim, name)(cm.parameters(), **kwargs)
    train(opt, cm, cr_loss, range(10))
    opt_sd = copy.deepcopy(opt.state_dict())                 # what a checkpoint would hold
    model_sd = {k: v.clone() for k, v in cm.state_dict().items()}

    cm2, _ = make_models(seed=1)                             # different weights, fresh optimiser
    opt2 = getattr(cr.optim, name)(cm2.parameters(), **kwargs)
    cm2.load_state_dict(model_sd)
    snapshot = copy.deepcopy(opt_sd)
    opt2.load_state_dict(opt_sd)

    train(opt, cm, cr_loss, range(10, 20))
    train(opt2, cm2, cr_loss, range(10, 20))
    for p, q in zip(cm.parameters(), cm2.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    # the loaded state is a copy: training opt2 did not move the dict it was loaded from
    for k, st in opt_sd["state"].items():
        for key, v in st.items():
            assert np.array_equal(v.numpy(), snapshot["state"][k][key].numpy()), (k, key)


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[r[0] for r in ROUND_TRIP])
def test_load_torch_state_dict_continues_like_torch(name, kwargs):
    """The layout is PyTorch's: a torch optimiser's state_dict (tensors as arrays) loads and resumes."""
    cm, tm = make_models()
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    train(topt, tm, torch_loss, range(10))
    tsd = topt.state_dict()
    sd = {"state": {k: {kk: vv.detach().numpy().copy() for kk, vv in v.items()} for k, v in tsd["state"].items()},
          "param_groups": copy.deepcopy(tsd["param_groups"])}
    with cr.no_grad():
        for cp, tp in zip(cm.parameters(), tm.parameters()):
            cp.copy_(cr.tensor(tp.detach().numpy().copy()))
    copt = getattr(cr.optim, name)(cm.parameters(), **kwargs)
    copt.load_state_dict(sd)
    train(topt, tm, torch_loss, range(10, 20))
    train(copt, cm, cr_loss, range(10, 20))
    assert_params_equal(cm, tm)
    assert_state_equal(copt, topt)


def test_load_state_dict_errors():
    cm, _ = make_models()
    opt = cr.optim.Adam(cm.parameters())
    train(opt, cm, cr_loss, range(2))
    sd = opt.state_dict()
    other = cr.optim.Adam([{"params": cm[0].parameters()}, {"params": cm[2].parameters()}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        other.load_state_dict(sd)
    short = cr.optim.Adam(cm[0].parameters())
    with pytest.raises(ValueError, match="doesn't match the size"):
        short.load_state_dict(sd)
    swapped = cr.optim.Adam([cm[0].bias, cm[0].weight, cm[2].weight, cm[2].bias])
    with pytest.raises(ValueError, match="has shape"):
        swapped.load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"lr": 1})


def test_load_casts_state_to_param_dtype_and_copies():
    w = cr.nn.Parameter(cr.zeros(3, dtype=cr.float32))
    opt = cr.optim.Adam([w])
    sd = {"state": {0: {"step": np.array(2.0, np.float32), "exp_avg": np.ones(3), "exp_avg_sq": np.ones(3)}},
          "param_groups": copy.deepcopy(opt.state_dict()["param_groups"])}
    opt.load_state_dict(sd)
    st = opt.state[w]
    assert st["exp_avg"].dtype == cr.float32 and st["exp_avg_sq"].dtype == cr.float32
    w.grad = cr.ones(3)
    opt.step()
    assert sd["state"][0]["exp_avg"][0] == 1.0          # the loaded arrays were copied, not aliased
    assert st["step"].item() == 3


def test_params_without_grad_are_skipped():
    for name, kwargs in ROUND_TRIP:
        cm, tm = make_models()
        extra_c = cr.nn.Parameter(cr.ones(5, dtype=cr.float64))            # never gets a grad
        frozen_c = cr.nn.Parameter(cr.ones(2, dtype=cr.float64), requires_grad=False)
        extra_t = torch.nn.Parameter(torch.ones(5, dtype=torch.float64))
        frozen_t = torch.nn.Parameter(torch.ones(2, dtype=torch.float64), requires_grad=False)
        copt = getattr(cr.optim, name)(list(cm.parameters()) + [extra_c, frozen_c], **kwargs)
        topt = getattr(torch.optim, name)(list(tm.parameters()) + [extra_t, frozen_t], **kwargs)
        train(copt, cm, cr_loss, range(5))
        train(topt, tm, torch_loss, range(5))
        assert np.array_equal(extra_c.detach().numpy(), np.ones(5))
        assert np.array_equal(frozen_c.numpy(), np.ones(2))
        assert (extra_c in copt.state) == (extra_t in topt.state), name
        assert len(copt.state) == len(topt.state), name
        assert_params_equal(cm, tm)


def test_add_param_group_mid_training_like_torch():
    cm, tm = make_models()
    copt = cr.optim.Adam(cm[0].parameters(), lr=0.01)
    topt = torch.optim.Adam(tm[0].parameters(), lr=0.01)
    train(copt, cm, cr_loss, range(5))
    train(topt, tm, torch_loss, range(5))
    copt.add_param_group({"params": cm[2].parameters(), "lr": 0.05, "amsgrad": True})
    topt.add_param_group({"params": tm[2].parameters(), "lr": 0.05, "amsgrad": True})
    train(copt, cm, cr_loss, range(5, 15))
    train(topt, tm, torch_loss, range(5, 15))
    assert_params_equal(cm, tm)
    assert_state_equal(copt, topt)


def test_named_parameters_give_param_names_like_torch():
    cm, tm = make_models()
    copt = cr.optim.SGD(cm.named_parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tm.named_parameters(), lr=0.1, momentum=0.9)
    assert copt.state_dict()["param_groups"][0]["param_names"] == topt.state_dict()["param_groups"][0]["param_names"]
    train(copt, cm, cr_loss, range(5))
    train(topt, tm, torch_loss, range(5))
    assert_params_equal(cm, tm)


def test_zero_grad():
    cm, _ = make_models()
    opt = cr.optim.SGD(cm.parameters(), lr=0.1)
    cr_loss(cm, 0).backward()
    grads = [p.grad for p in cm.parameters()]
    opt.zero_grad(set_to_none=False)
    for p, g in zip(cm.parameters(), grads):
        assert p.grad is g and not np.any(g.numpy())
    opt.zero_grad()
    assert all(p.grad is None for p in cm.parameters())


def test_step_with_closure_like_torch():
    cm, tm = make_models()
    copt = cr.optim.SGD(cm.parameters(), lr=0.1, momentum=0.5)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.5)
    for i in range(5):
        def cclosure(i=i):
            copt.zero_grad()
            loss = cr_loss(cm, i)
            loss.backward()
            return loss

        def tclosure(i=i):
            topt.zero_grad()
            loss = torch_loss(tm, i)
            loss.backward()
            return loss
        with cr.no_grad():          # step enables grad for the closure, as PyTorch
            cl = copt.step(cclosure)
        tl = topt.step(tclosure)
        assert abs(cl.item() - tl.item()) < 1e-12
    assert_params_equal(cm, tm)


def test_step_runs_without_recording_and_bumps_versions():
    w = cr.nn.Parameter(cr.tensor([1.0, 2.0], dtype=cr.float64))
    opt = cr.optim.SGD([w], lr=0.1)
    y = (w * w).sum()                 # saves w for its backward
    w.grad = cr.ones(2, dtype=cr.float64)
    opt.step()
    assert w.grad_fn is None and w.requires_grad
    with pytest.raises(RuntimeError, match="modified by an inplace operation|version"):
        y.backward()


def test_tensor_lr_same_as_float():
    a, _ = make_models()
    b, _ = make_models()
    oa = cr.optim.Adam(a.parameters(), lr=0.01)
    ob = cr.optim.Adam(b.parameters(), lr=cr.tensor(0.01, dtype=cr.float64))
    train(oa, a, cr_loss, range(5))
    train(ob, b, cr_loss, range(5))
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_float32_params_stay_float32_and_match_torch():
    torch.manual_seed(0)
    tm = torch.nn.Linear(4, 3)
    cm = cr.nn.Linear(4, 3)
    with cr.no_grad():
        cm.weight.copy_(cr.tensor(tm.weight.detach().numpy().copy()))
        cm.bias.copy_(cr.tensor(tm.bias.detach().numpy().copy()))
    cm.float()
    tm.float()
    copt = cr.optim.NAdam(cm.parameters(), lr=0.01, weight_decay=0.1)
    topt = torch.optim.NAdam(tm.parameters(), lr=0.01, weight_decay=0.1)
    x = RNG.standard_normal((8, 4)).astype(np.float32)
    for _ in range(10):
        copt.zero_grad()
        (cm(cr.tensor(x)) ** 2).mean().backward()
        copt.step()
        topt.zero_grad()
        (tm(torch.tensor(x)) ** 2).mean().backward()
        topt.step()
    assert cm.weight.dtype == cr.float32
    for key in ("exp_avg", "exp_avg_sq"):
        assert copt.state[cm.weight][key].dtype == cr.float32
    np.testing.assert_allclose(cm.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True))])
def test_gradient_accumulation_equals_big_batch(name, kwargs):
    """4 micro-batches, each loss / 4, accumulate into .grad: the same update as one batch of all of them."""
    big, _ = make_models()
    acc, _ = make_models()
    ob = getattr(cr.optim, name)(big.parameters(), **kwargs)
    oa = getattr(cr.optim, name)(acc.parameters(), **kwargs)
    for step in range(3):
        xb, yb = cr.tensor(X[step]), cr.tensor(Y[step])           # 16 rows = 4 micro-batches of 4
        ob.zero_grad()
        cr.nn.functional.mse_loss(big(xb), yb).backward()
        ob.step()
        oa.zero_grad()
        for k in range(4):
            sl = slice(4 * k, 4 * k + 4)
            (cr.nn.functional.mse_loss(acc(xb[sl]), yb[sl]) / 4).backward()
        oa.step()
    for p, q in zip(big.parameters(), acc.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_step_hooks():
    w = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([w], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", w.detach().numpy().tolist())))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", w.detach().numpy().tolist())))
    w.grad = cr.ones(2)
    opt.step()
    assert [c[0] for c in calls] == ["pre", "post"]
    assert calls[0][1] == [1.0, 1.0] and np.allclose(calls[1][1], [0.9, 0.9])
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2


def test_errors_are_clear():
    w = cr.nn.Parameter(cr.ones(2))
    with pytest.raises(TypeError, match="iterable of Tensors"):
        cr.optim.SGD(3, lr=0.1)
    with pytest.raises(TypeError, match="single"):
        cr.optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cr.optim.Adam([])
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        cr.optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum value"):
        cr.optim.SGD([w], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        cr.optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        cr.optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon"):
        cr.optim.RMSprop([w], eps=-1)
    with pytest.raises(TypeError, match="ordered collections"):      # its order changes between runs
        cr.optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        cr.optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        cr.optim.SGD([w, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        cr.optim.SGD([w * 2], lr=0.1)
    opt = cr.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(NotImplementedError, match="differentiable"):
        cr.optim.Adam([w], differentiable=True)
    w.grad = cr.ones(3)
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a .grad of shape \(3,\)"):
        opt.step()
    with pytest.warns(UserWarning, match="duplicate parameters"):
        cr.optim.SGD([w, w], lr=0.1)
    # the same messages as PyTorch for the same mistakes
    tw = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        torch.optim.SGD([tw], lr=-0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.Adam([])


def test_custom_optimizer_subclass():
    """The base class as users extend it: a required hyper-parameter, groups, state, step under no_grad."""
    from chainrule.optim.optimizer import required

    class SignSGD(cr.optim.Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["n"] = self.state[p].get("n", 0) + 1
                        p.add_(p.grad.sign(), alpha=-group["lr"])     # in place on a leaf: needs no_grad

    w = cr.nn.Parameter(cr.tensor([1.0, -2.0, 3.0]))
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        SignSGD([w])
    opt = SignSGD([{"params": [w], "lr": 0.5}])
    (w * cr.tensor([1.0, -1.0, 0.0])).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.5, -1.5, 3.0])
    assert opt.state_dict()["state"] == {0: {"n": 1}}
    assert cr.is_grad_enabled()
