"""GradientMonitor: recorded statistics match hand-computed ones; each alarm fires on a constructed case
and stays silent on a healthy LeNet-5 run."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import Alarm, GradientMonitor, Thresholds

F = nn.functional


def _train(model, x, y, steps, every=1, lr=0.01, loss_fn=F.cross_entropy, **kw):
    mon = GradientMonitor(model, every=every, verbose=False, **kw)
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        mon.step(loss)
        opt.step()
    return mon


def _data(n=32, d=16, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal((n, d)).astype(np.float32)), cr.tensor(rng.integers(0, classes, n))


def _mlp(act, depth, width, init, d_in=16, d_out=4):
    layers, d = [], d_in
    for _ in range(depth):
        lin = nn.Linear(d, width)
        init(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, act()]
        d = width
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


def test_statistics_of_a_hand_computable_net():
    # y = w·x, L = Σ y: dL/dw = Σ_rows x, dL/dy = 1, SGD moves w by lr·dL/dw
    lin = nn.Linear(3, 1, bias=False)
    with cr.no_grad():
        lin.weight.copy_(cr.tensor([[1.0, 2.0, 2.0]]))
    model = nn.Sequential(lin)
    x = cr.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 4.0]])
    mon = _train(model, x, None, steps=2, every=1, lr=0.1, loss_fn=lambda out, _: out.sum())
    first = mon.records[0]
    p = first["params"]["0.weight"]
    assert p["grad_norm"] == pytest.approx(np.sqrt(2 ** 2 + 4 ** 2))           # g = [2, 0, 4]
    assert p["zero_frac"] == pytest.approx(1 / 3)
    assert p["max_abs"] == pytest.approx(4.0) and p["mean_abs"] == pytest.approx(2.0)
    assert p["weight_norm"] == pytest.approx(3.0) and p["init_dist"] == pytest.approx(0.0)
    assert p["update_ratio"] == pytest.approx(0.1 * np.sqrt(20) / 3, rel=1e-6)  # ‖lr·g‖ / ‖w‖
    assert first["layers"]["0"]["out_grad_rms"] == pytest.approx(1.0)          # dL/dy = 1 everywhere
    assert mon.records[1]["params"]["0.weight"]["init_dist"] == pytest.approx(0.1 * np.sqrt(20) / 3, rel=1e-6)


def test_samples_every_n_steps_and_skips_eval_forwards():
    x, y = _data()
    model = _mlp(nn.ReLU, 1, 8, nn.init.kaiming_normal_)
    mon = _train(model, x, y, steps=7, every=3)
    assert [r["step"] for r in mon.records] == [0, 3, 6]
    model.eval()
    with cr.no_grad():
        model(x)
    assert mon._pending is None or not mon._pending["activations"]


def test_vanishing_naive_tanh_init():
    cr.manual_seed(0)
    x, y = _data()
    model = _mlp(nn.Tanh, 5, 64, lambda w: nn.init.normal_(w, 0, 0.01))
    mon = _train(model, x, y, steps=3)
    kinds = {a.kind: a for a in mon.alarms}
    assert "vanishing" in kinds and kinds["vanishing"].layer == "0"
    msg = kinds["vanishing"].message
    assert "layer '0' (Linear 16→64)" in msg and "vanishing" in msg and "Xavier" in msg
    assert len([a for a in mon.alarms if a.kind == "vanishing"]) == 1          # once, not per step


def test_exploding_large_init():
    cr.manual_seed(0)
    x, y = _data()
    model = _mlp(nn.ReLU, 6, 64, lambda w: nn.init.normal_(w, 0, 8 * np.sqrt(2 / w.shape[1])))
    mon = _train(model, x, y, steps=1, lr=0.0)
    a = [a for a in mon.alarms if a.kind == "exploding"]
    assert a and a[0].layer == "0" and "exploding" in a[0].message


def test_dead_relus():
    x, y = _data()
    lin = nn.Linear(16, 8)
    with cr.no_grad():
        lin.bias.fill_(-100.0)                  # every pre-activation negative: the ReLU never fires
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(8, 4))
    th = Thresholds(dead_window=3)
    mon = _train(model, x, y, steps=2, thresholds=th)
    assert not [a for a in mon.alarms if a.kind == "dead"]                     # window not complete yet
    mon = _train(model, x, y, steps=3, thresholds=th)
    dead = [a for a in mon.alarms if a.kind == "dead"]
    assert dead and dead[0].layer == "1" and "100%" in dead[0].message and "dead" in dead[0].message


def test_saturated_sigmoid():
    x, y = _data()
    lin = nn.Linear(16, 8)
    with cr.no_grad():
        lin.weight.mul_(50.0)
    model = nn.Sequential(lin, nn.Sigmoid(), nn.Linear(8, 4))
    mon = _train(model, x, y, steps=1)
    sat = [a for a in mon.alarms if a.kind == "saturated"]
    assert sat and sat[0].layer == "1" and "saturated" in sat[0].message
    assert mon.records[0]["activations"]["1"]["saturated"] > 0.5


class _Sqrt(nn.Module):
    def forward(self, x):
        return (x - 1e6).sqrt()                 # the line the alarm must name


def test_nonfinite_names_the_op_and_line():
    x, y = _data()
    model = nn.Sequential(nn.Linear(16, 4), _Sqrt())
    mon = _train(model, x, y, steps=1, loss_fn=lambda out, _: out.sum())
    bad = [a for a in mon.alarms if a.kind == "nonfinite"]
    assert bad, mon.alarms
    assert "Sqrt" in bad[0].message and "test_monitor.py" in bad[0].message and "(x - 1e6).sqrt()" in bad[0].message
    assert any(a.kind == "divergence" for a in mon.alarms)                    # the loss itself is nan


def test_nonfinite_weights_blame_an_earlier_update():
    x, y = _data()
    model = nn.Sequential(nn.Linear(16, 4))
    with cr.no_grad():
        model[0].weight[0, 0] = float("inf")
    mon = _train(model, x, y, steps=1, lr=0.0)
    bad = [a for a in mon.alarms if a.kind == "nonfinite"]
    assert bad and "'weight' already holds NaN/Inf" in bad[0].message


def test_update_ratio_too_large_needs_patience():
    x, y = _data()
    cr.manual_seed(0)
    model = _mlp(nn.ReLU, 1, 8, nn.init.kaiming_normal_)
    mon = _train(model, x, y, steps=2, lr=5.0, thresholds=Thresholds(patience=3))
    assert not [a for a in mon.alarms if a.kind == "update"]
    mon = _train(model, x, y, steps=4, lr=5.0, thresholds=Thresholds(patience=3))
    assert [a for a in mon.alarms if a.kind == "update" and "lower the learning rate" in a.message]


def test_divergence_on_smoothed_loss():
    mon = GradientMonitor(nn.Linear(2, 2), verbose=False)
    for v in [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]:
        mon.observe_loss(v)
    assert not mon.alarms
    for _ in range(20):
        mon.observe_loss(50.0)
    assert [a.kind for a in mon.alarms] == ["divergence"]


def _lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def test_silent_on_healthy_lenet5():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, 16))
    mon = _train(_lenet(), x, y, steps=12, every=2, lr=0.01, thresholds=Thresholds(dead_window=3))
    assert len(mon.records) == 6
    assert "dead" in mon.records[2]["activations"]["1"]                        # the dead check did run
    assert mon.alarms == [], mon.summary()
    assert "alarms: none" in mon.summary()


def test_trainer_callback_events_and_history():
    class History:
        alarms = []

    class FakeTrainer:                           # what the callback contract says a trainer exposes
        is_global_zero = True
        history = History()

    cr.manual_seed(0)
    x, y = _data()
    model = _mlp(nn.Tanh, 5, 64, lambda w: nn.init.normal_(w, 0, 0.01))
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    mon = GradientMonitor(every=2, verbose=False)
    t = FakeTrainer()
    t.model = model
    mon.on_fit_begin(t)
    for i in range(4):
        mon.on_batch_begin(t, i, (x, y))
        loss = F.cross_entropy(model(x), y)
        mon.on_before_backward(t, loss)
        loss.backward()
        mon.on_after_backward(t)
        mon.on_before_optimizer_step(t, opt)
        opt.step()
        opt.zero_grad()
        mon.on_batch_end(t, i, {"loss": loss.item()})
    mon.on_fit_end(t)
    assert [r["step"] for r in mon.records] == [0, 2]
    assert "update_ratio" in mon.records[1]["layers"]["0"]
    assert t.history.alarms and isinstance(t.history.alarms[0], dict)
    assert t.history.alarms[0]["kind"] == "vanishing"


def test_bad_arguments():
    with pytest.raises(ValueError, match="every must be a positive int"):
        GradientMonitor(nn.Linear(2, 2), every=0)
    with pytest.raises(ValueError, match="dead_frac must be positive"):
        Thresholds(dead_frac=0)
    with pytest.raises(RuntimeError, match="no model"):
        GradientMonitor().step()
    assert isinstance(Alarm("dead", "1", 0, "m").to_dict(), dict)


def test_detach_removes_hooks():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    mon = GradientMonitor(model)
    mon.detach()
    assert not model[0]._forward_hooks and not model[1]._forward_hooks and not model._forward_hooks
