"""Trainer.fit / evaluate / predict: learning, data forms, the event order, stopping, accumulation,
schedulers, clipping, and clear errors."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import EVENTS, Callback, Trainer, fit
from chainrule.utils.data import DataLoader, TensorDataset
from train_helpers import blobs, mlp, weights


def sgd(model, lr=0.1, momentum=0.0):
    return cr.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def test_loss_falls_and_accuracy_rises():
    x, y = blobs(n=96)
    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["accuracy"], verbose=0).fit(
        (x, y), val=(x, y), epochs=8, batch_size=16)
    assert len(h.history["loss"]) == 8 and h.epoch == list(range(8))
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert h.history["val_accuracy"][-1] > 0.9
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h.params["epochs"] == 8 and h.params["steps"] == 6 and h.params["batch_size"] == 16


def test_epoch_values_are_sample_weighted_means():
    x, y = blobs(n=10)
    model = mlp()
    t = Trainer(model, sgd(model, lr=0.0), nn.CrossEntropyLoss(), metrics=["accuracy"], verbose=0)
    h = t.fit((x, y), epochs=1, batch_size=4, shuffle=False)       # batches of 4, 4, 2; lr 0: fixed weights
    with cr.no_grad():
        out = model(cr.tensor(x))
        expected = nn.CrossEntropyLoss()(out, cr.tensor(y)).item()
        acc = float((out.numpy().argmax(1) == y).mean())
    assert h.history["loss"][0] == pytest.approx(expected, rel=1e-6)
    assert h.history["accuracy"][0] == pytest.approx(acc)
    ev = t.evaluate((x, y), batch_size=3)
    assert ev["loss"] == pytest.approx(expected, rel=1e-6) and ev["accuracy"] == pytest.approx(acc)


@pytest.mark.parametrize("form", ["arrays", "tensors", "dataset", "loader"])
def test_data_forms_train_identically(form):
    x, y = blobs(n=40)
    data = {"arrays": (x, y), "tensors": (cr.tensor(x), cr.tensor(y)),
            "dataset": TensorDataset(cr.tensor(x), cr.tensor(y)),
            "loader": DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=8)}[form]
    model = mlp()
    Trainer(model, sgd(model), nn.CrossEntropyLoss(), verbose=0).fit(data, epochs=2, batch_size=8, shuffle=False)
    ref = mlp()
    opt = sgd(ref)
    for _ in range(2):
        for i in range(0, 40, 8):
            loss = nn.CrossEntropyLoss()(ref(cr.tensor(x[i:i + 8])), cr.tensor(y[i:i + 8]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for k, v in weights(ref).items():
        np.testing.assert_array_equal(weights(model)[k], v)


def test_float64_arrays_are_cast_to_the_models_dtype():
    x, y = blobs(n=16)
    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), verbose=0).fit((x.astype(np.float64), y), epochs=1)
    assert np.isfinite(h.history["loss"][0])


class Recorder(Callback):
    """Appends ``tag + event`` to ``log`` for every event."""

    def __init__(self, log, tag=""):
        self.log, self.tag = log, tag

    for _event in EVENTS:
        locals()[_event] = (lambda ev: lambda self, trainer, *args: self.log.append(self.tag + ev))(_event)
    del _event


def test_event_order_is_the_documented_one():
    x, y = blobs(n=6)
    log = []
    model = mlp()
    Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[Recorder(log)], accumulate=2, verbose=0).fit(
        (x, y), val=(x, y), epochs=2, batch_size=2)     # 3 batches: steps after batch 1 (pair) and 2 (last)
    batch = ["on_batch_begin", "on_before_backward", "on_after_backward"]
    step = ["on_before_optimizer_step"]
    epoch = (["on_epoch_begin"] + batch + ["on_batch_end"] + batch + step + ["on_batch_end"] + batch + step
             + ["on_batch_end", "on_validation_begin", "on_validation_end", "on_epoch_end"])
    assert log == ["on_fit_begin"] + epoch + epoch + ["on_fit_end"]


def test_user_callbacks_run_in_list_order_before_builtins(tmp_path):
    x, y = blobs(n=8)
    log = []

    class SeesCsv(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            with open(os.path.join(tmp_path, "metrics.csv")) as f:
                log.append(("rows", len(f.read().splitlines())))     # the built-in CSVLogger has not run yet

    model = mlp()
    Trainer(model, sgd(model), nn.CrossEntropyLoss(), verbose=0, log_dir=tmp_path,
            callbacks=[Recorder(log, "a:"), SeesCsv(), Recorder(log, "b:")]).fit((x, y), epochs=2, batch_size=8)
    ends = [e for e in log if e in ("a:on_epoch_end", "b:on_epoch_end") or isinstance(e, tuple)]
    assert ends == ["a:on_epoch_end", ("rows", 0), "b:on_epoch_end", "a:on_epoch_end", ("rows", 2),
                    "b:on_epoch_end"]
    firsts = [e for e in log if isinstance(e, str) and e.endswith("on_fit_begin")]
    assert firsts == ["a:on_fit_begin", "b:on_fit_begin"]


def test_stop_training_stops_after_the_current_batch():
    x, y = blobs(n=40)
    seen = []

    class StopAt(Callback):
        def on_batch_end(self, trainer, batch_idx, logs):
            seen.append((trainer.epoch, batch_idx))
            if trainer.epoch == 1 and batch_idx == 2:
                trainer.stop_training = True

    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[StopAt()], verbose=0).fit(
        (x, y), epochs=5, batch_size=8)
    assert seen[-1] == (1, 2) and len(seen) == 5 + 3
    assert len(h) == 1                       # the stopped epoch did not finish: only epoch 0 is recorded


def test_on_fit_end_runs_after_an_exception():
    x, y = blobs(n=8)
    log = []

    class Boom(Callback):
        def on_batch_end(self, trainer, batch_idx, logs):
            raise RuntimeError("boom")

    model = mlp()
    with pytest.raises(RuntimeError, match="boom"):
        Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[Boom(), Recorder(log)], verbose=0).fit(
            (x, y), epochs=1)
    assert log[-1] == "on_fit_end"


@pytest.mark.parametrize("n", [64, 60])         # 60: the last micro-batch has 4 samples, the last step 28
def test_accumulation_equals_the_big_batch(n):
    x, y = blobs(n=n, seed=3)
    small, big = mlp(seed=1), mlp(seed=1)
    Trainer(small, sgd(small, 0.1, 0.9), nn.CrossEntropyLoss(), accumulate=4, verbose=0).fit(
        (x, y), epochs=3, batch_size=8, shuffle=False)
    Trainer(big, sgd(big, 0.1, 0.9), nn.CrossEntropyLoss(), verbose=0).fit(
        (x, y), epochs=3, batch_size=32, shuffle=False)
    wb = weights(big)
    for k, v in weights(small).items():
        np.testing.assert_allclose(v, wb[k], rtol=0, atol=1e-6)
    assert not np.array_equal(weights(small)["0.weight"], weights(mlp(seed=1))["0.weight"])   # it did train


def test_scheduler_per_epoch_and_per_step():
    x, y = blobs(n=32)
    model = mlp()
    opt = sgd(model, lr=1.0)
    h = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=cr.optim.lr_scheduler.StepLR(opt, 1, 0.5),
                verbose=0).fit((x, y), epochs=3, batch_size=8)
    assert h.history["lr"] == [1.0, 0.5, 0.25]
    model = mlp()
    opt = sgd(model, lr=1.0)
    t = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=cr.optim.lr_scheduler.StepLR(opt, 1, 0.5),
                scheduler_interval="step", verbose=0)
    h = t.fit((x, y), epochs=2, batch_size=8)       # 4 steps per epoch
    assert t.global_step == 8 and h.history["lr"] == [0.5 ** 3, 0.5 ** 7]   # the last step's lr


def test_reduce_lr_on_plateau_watches_its_monitor():
    x, y = blobs(n=16)
    model = mlp()
    opt = sgd(model, lr=0.1)
    sched = cr.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.9)   # never improves
    h = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, verbose=0).fit((x, y), val=(x, y), epochs=3)
    assert h.history["lr"] == [0.1, 0.1, 0.05]      # epoch 1 sets the best; epoch 2 is bad: halved for epoch 3
    with pytest.raises(ValueError, match="did you mean 'val_loss'"):
        Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, scheduler_monitor="val_los",
                verbose=0).fit((x, y), val=(x, y), epochs=1)


def test_grad_clip_bounds_the_step():
    x, y = blobs(n=16)
    x *= 100                                    # huge gradients
    model = mlp()
    before = weights(model)
    Trainer(model, sgd(model, lr=1.0), nn.CrossEntropyLoss(), grad_clip=0.01, verbose=0).fit(
        (x, y), epochs=1, batch_size=16)
    moved = np.sqrt(sum(((weights(model)[k] - v) ** 2).sum() for k, v in before.items()))
    assert 0 < moved <= 0.01 * (1 + 1e-5)


def test_predict_and_evaluate():
    x, y = blobs(n=50)
    model = mlp()
    t = Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["accuracy", "confusion_matrix"], verbose=0)
    out = t.predict(x, batch_size=16)
    with cr.no_grad():
        ref = model(cr.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    assert t.predict((x, y)).shape == (50, 3)
    ev = t.evaluate((x, y))
    assert ev["confusion_matrix"].sum() == 50 and set(ev) == {"loss", "accuracy", "confusion_matrix"}


def test_non_scalar_metrics_go_to_history_arrays():
    x, y = blobs(n=20)
    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["f1_per_class", "f1"], verbose=0).fit(
        (x, y), val=(x, y), epochs=2)
    assert "f1_per_class" not in h.history and len(h.arrays["val_f1_per_class"]) == 2
    assert h.arrays["f1_per_class"][0].shape == (3,)


def test_fit_one_liner():
    x, y = blobs(n=48)
    model = mlp()
    h = fit(model, (x, y), val=(x, y), epochs=5, optimizer="sgd", lr=0.5, metrics=["accuracy"], verbose=0)
    assert h.history["val_accuracy"][-1] > 0.8 and h.trainer.model is model
    with pytest.raises(ValueError, match="unknown optimiser 'adma'; did you mean 'adam'"):
        fit(model, (x, y), optimizer="adma")


def test_clear_errors():
    x, y = blobs(n=8)
    model = mlp()
    t = Trainer(model, sgd(model), nn.CrossEntropyLoss(), verbose=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        t.fit((x, y), epochs=0)
    with pytest.raises(ValueError, match="x has 8 samples but y has 7"):
        t.fit((x, y[:7]))
    with pytest.raises(TypeError, match=r"a batch must be \(inputs, target\)"):
        t.fit(DataLoader(TensorDataset(cr.tensor(x)), batch_size=4))
    with pytest.raises(ValueError, match="accumulate must be a positive integer"):
        Trainer(model, sgd(model), nn.CrossEntropyLoss(), accumulate=0)
    with pytest.raises(ValueError, match="must be a scalar"):
        Trainer(model, sgd(model), nn.CrossEntropyLoss(reduction="none"), verbose=0).fit((x, y))
    with pytest.raises(ValueError, match="did you mean 'accuracy'"):
        Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["acurracy"])
    with pytest.raises(TypeError, match="optimizer must be"):
        Trainer(model, "sgd", nn.CrossEntropyLoss())


def test_not_a_tty_prints_one_plain_line_per_epoch(capsys):
    x, y = blobs(n=16)
    model = mlp()
    Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["accuracy"]).fit((x, y), val=(x, y), epochs=3,
                                                                               batch_size=4)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_accuracy" in lines[2]


def test_verbose_0_prints_nothing(capsys):
    x, y = blobs(n=16)
    model = mlp()
    Trainer(model, sgd(model), nn.CrossEntropyLoss(), verbose=0).fit((x, y), epochs=2)
    assert capsys.readouterr().out == ""
