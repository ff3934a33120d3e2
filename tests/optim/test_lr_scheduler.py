"""LR schedulers vs PyTorch: the lr sequence over 30 epochs (two parameter groups with different lrs)
equals torch.optim.lr_scheduler's to 1e-12 - single, chained, sequential, per-batch (OneCycleLR, CyclicLR,
momentum too), ReduceLROnPlateau driven by a fixed metric list - and state_dict round trips."""
import copy
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

pytestmark = needs_torch

EPOCHS = 30
LRS = (0.1, 0.02)


def optimizers(name="SGD", **kw):
    """The same two-group optimiser in chainrule and torch (parameters never get a grad: step is a no-op)."""
    cw = [cr.nn.Parameter(cr.zeros(2)), cr.nn.Parameter(cr.zeros(3))]
    tw = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    copt = getattr(cr.optim, name)([{"params": [cw[0]], "lr": LRS[0]}, {"params": [cw[1]], "lr": LRS[1]}], **kw)
    topt = getattr(torch.optim, name)([{"params": [tw[0]], "lr": LRS[0]}, {"params": [tw[1]], "lr": LRS[1]}], **kw)
    return copt, topt


def lib_of(opt):
    return cr.optim.lr_scheduler if isinstance(opt, cr.optim.Optimizer) else torch.optim.lr_scheduler


def sequence(opt, make, epochs=EPOCHS, momentum_key=None):
    """[(lrs, momentums)] for the initial state and each epoch: optimizer.step() then scheduler.step()."""
    sched = make(lib_of(opt), opt)
    out = [(list(sched.get_last_lr()), _moms(opt, momentum_key))]
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), _moms(opt, momentum_key)))
        assert [g["lr"] for g in opt.param_groups] == out[-1][0]
    return out


def _moms(opt, key):
    if key is None:
        return None
    return [g["betas"][0] if key == "betas" else g[key] for g in opt.param_groups]


def assert_same(a, b):
    assert len(a) == len(b)
    for (la, ma), (lb, mb) in zip(a, b):
        np.testing.assert_allclose(la, lb, rtol=1e-12, atol=1e-15)
        if ma is not None or mb is not None:
            np.testing.assert_allclose(ma, mb, rtol=1e-12, atol=1e-15)


CASES = {
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * e),
    "LambdaLR-per-group": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: math.cos(e / 10)]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.05),
    "StepLR": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=6),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.87),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
    "LinearLR-decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=25),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),   # past T_max: periodic
    "CosineAnnealingLR-long": lambda L, o: L.CosineAnnealingLR(o, T_max=40),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=1e-3),
    "CosineAnnealingWarmRestarts-mult": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "SequentialLR": lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                                    L.CosineAnnealingLR(o, T_max=20, eta_min=1e-4)],
                                                milestones=[5]),
    "SequentialLR-3": lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=4),
                                                      L.ExponentialLR(o, gamma=0.9),
                                                      L.StepLR(o, step_size=3, gamma=0.5)],
                                                  milestones=[6, 15]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler([L.ExponentialLR(o, gamma=0.95),
                                                         L.MultiStepLR(o, milestones=[10, 20], gamma=0.5),
                                                         L.LinearLR(o, start_factor=0.2, total_iters=8)]),
    "CyclicLR": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=4, step_size_down=6,
                                        cycle_momentum=False),
    "CyclicLR-triangular2": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                                    mode="triangular2", cycle_momentum=False),
    "CyclicLR-exp_range": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range",
                                                  gamma=0.97, cycle_momentum=False),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=EPOCHS, cycle_momentum=False),
    "OneCycleLR-linear-3phase": lambda L, o: L.OneCycleLR(o, max_lr=0.3, epochs=3, steps_per_epoch=10,
                                                          anneal_strategy="linear", three_phase=True,
                                                          cycle_momentum=False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_lr_sequence_matches_torch(case):
    copt, topt = optimizers()
    make = CASES[case]
    assert_same(sequence(copt, make), sequence(topt, make))


def test_two_schedulers_stepped_on_one_optimizer_match_torch():
    def both(opt):
        L = lib_of(opt)
        a = L.ExponentialLR(opt, gamma=0.9)
        b = L.CosineAnnealingLR(opt, T_max=12, eta_min=0.001)
        out = []
        for _ in range(EPOCHS):
            opt.step()
            a.step()
            b.step()
            out.append([g["lr"] for g in opt.param_groups])
        return out
    c, t = optimizers()
    np.testing.assert_allclose(both(c), both(t), rtol=1e-12)


@pytest.mark.parametrize("opt_name,kw,key", [("SGD", dict(momentum=0.9), "momentum"),
                                             ("Adam", dict(), "betas")])
def test_momentum_cycling_matches_torch(opt_name, kw, key):
    for make in (lambda L, o: L.OneCycleLR(o, max_lr=0.4, total_steps=EPOCHS + 1, pct_start=0.4),
                 lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=5, base_momentum=0.7,
                                         max_momentum=0.95)):
        copt, topt = optimizers(opt_name, **kw)
        assert_same(sequence(copt, make, momentum_key=key), sequence(topt, make, momentum_key=key))


def test_onecycle_past_total_steps_raises_like_torch():
    for opt in optimizers():
        s = lib_of(opt).OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            s.step()
        opt.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
            s.step()


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2, min_lr=[0.01, 0.001]),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.0, min_lr=0.005, factor=0.3),
    dict(patience=3, cooldown=1, eps=0.05),
]
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.9, 0.9, 0.9, 0.91, 0.5, 0.5, 0.52, 0.6, 0.6, 0.49, 0.7, 0.7,
           0.7, 0.7, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.31, 0.1, 0.1, 0.1]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kw):
    def run(opt):
        s = lib_of(opt).ReduceLROnPlateau(opt, **kw)
        out = [list(s.get_last_lr())]
        for m in METRICS + METRICS[::-1]:
            opt.step()
            s.step(m)
            out.append(list(s.get_last_lr()))
        return out, s.num_bad_epochs, s.best, s.cooldown_counter
    c, t = optimizers()
    rc, rt = run(c), run(t)
    np.testing.assert_allclose(rc[0], rt[0], rtol=1e-12)
    assert rc[1:] == rt[1:]


def test_reduce_lr_on_plateau_accepts_0d_tensor_metric():
    c, _ = optimizers()
    s = cr.optim.lr_scheduler.ReduceLROnPlateau(c, patience=0)
    s.step(cr.tensor(1.0))
    s.step(cr.tensor(2.0))
    assert s.get_last_lr() == [pytest.approx(0.01), pytest.approx(0.002)]
    with pytest.raises(TypeError, match="metrics must be a number"):
        s.step([1.0, 2.0])


@pytest.mark.parametrize("case", ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
                                  "PolynomialLR", "ConstantLR"])
def test_step_with_epoch_uses_closed_form_like_torch(case):
    def run(opt):
        s = CASES[case](lib_of(opt), opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in [1, 2, 5, 3, 11, 20, 7]:
                opt.step()
                s.step(e)
                out.append(list(s.get_last_lr()))
        return out
    c, t = optimizers()
    np.testing.assert_allclose(run(c), run(t), rtol=1e-12)


def test_warm_restarts_fractional_epochs_match_torch():
    def run(opt):
        s = lib_of(opt).CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.001)
        out = []
        for epoch in range(6):
            for i in range(5):
                opt.step()
                s.step(epoch + i / 5)
                out.append(list(s.get_last_lr()))
        return out
    c, t = optimizers()
    np.testing.assert_allclose(run(c), run(t), rtol=1e-12)


@pytest.mark.parametrize("case", ["StepLR", "CosineAnnealingLR", "SequentialLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts-mult", "OneCycleLR", "CyclicLR", "LambdaLR"])
def test_state_dict_round_trip(case):
    """Save optimizer + scheduler mid-run, load into fresh ones: the rest of the sequence is unchanged."""
    make = CASES[case]
    copt, _ = optimizers()
    full = sequence(copt, make)

    copt, _ = optimizers()
    sched = make(cr.optim.lr_scheduler, copt)
    for _ in range(12):
        copt.step()
        sched.step()
    osd, ssd = copy.deepcopy(copt.state_dict()), copy.deepcopy(sched.state_dict())
    assert "optimizer" not in ssd

    copt2, _ = optimizers()
    sched2 = make(cr.optim.lr_scheduler, copt2)
    copt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    rest = []
    for _ in range(12, EPOCHS):
        copt2.step()
        sched2.step()
        rest.append(list(sched2.get_last_lr()))
    np.testing.assert_allclose(rest, [lrs for lrs, _ in full[13:]], rtol=1e-12)


def test_reduce_lr_on_plateau_state_dict_round_trip():
    c, _ = optimizers()
    s = cr.optim.lr_scheduler.ReduceLROnPlateau(c, mode="max", patience=1)
    for m in METRICS[:10]:
        s.step(m)
    sd = copy.deepcopy(s.state_dict())
    c2, _ = optimizers()
    c2.load_state_dict(c.state_dict())
    s2 = cr.optim.lr_scheduler.ReduceLROnPlateau(c2)
    s2.load_state_dict(sd)
    for m in METRICS[10:]:
        s.step(m)
        s2.step(m)
        assert s.get_last_lr() == s2.get_last_lr()
    assert s2.mode == "max"


def test_scheduler_drives_training_like_torch():
    """OneCycleLR cycling Adam's lr and beta1 per batch, on a real model: parameters equal torch's."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    torch.manual_seed(0)
    tm = torch.nn.Linear(4, 2).double()
    cm = cr.nn.Linear(4, 2).double()
    with cr.no_grad():
        cm.weight.copy_(cr.tensor(tm.weight.detach().numpy().copy()))
        cm.bias.copy_(cr.tensor(tm.bias.detach().numpy().copy()))
    copt, topt = cr.optim.Adam(cm.parameters()), torch.optim.Adam(tm.parameters())
    cs = cr.optim.lr_scheduler.OneCycleLR(copt, max_lr=0.1, total_steps=20)
    ts = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=20)
    for _ in range(20):
        copt.zero_grad()
        ((cm(cr.tensor(x)) - cr.tensor(y)) ** 2).mean().backward()
        copt.step()
        cs.step()
        topt.zero_grad()
        ((tm(torch.tensor(x)) - torch.tensor(y)) ** 2).mean().backward()
        topt.step()
        ts.step()
    np.testing.assert_allclose(cm.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_warnings_like_torch():
    c, _ = optimizers()
    s = cr.optim.lr_scheduler.StepLR(c, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_errors():
    c, _ = optimizers()
    L = cr.optim.lr_scheduler
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        L.StepLR(c, step_size=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        L.LambdaLR(c, [lambda e: 1] * 3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(c, factor=1.5)
    with pytest.raises(ValueError, match="mode 'best' is unknown"):
        L.ReduceLROnPlateau(c, mode="best")
    with pytest.raises(ValueError, match="You must define either total_steps"):
        L.OneCycleLR(c, max_lr=0.1)
    with pytest.raises(ValueError, match="number of milestone points"):
        L.SequentialLR(c, [L.StepLR(c, 2), L.StepLR(c, 3)], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        L.ChainedScheduler([L.ReduceLROnPlateau(c)])
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        L.CosineAnnealingWarmRestarts(c, T_0=0)
    with pytest.raises(KeyError, match="initial_lr"):
        fresh, _ = optimizers()
        L.StepLR(fresh, step_size=2, last_epoch=3)
