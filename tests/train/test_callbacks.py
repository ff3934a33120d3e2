"""The built-in callbacks: EarlyStopping, ModelCheckpoint, CSVLogger, TerminateOnNaN, TensorBoard."""
import csv
import math
import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import (Callback, CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard, TerminateOnNaN,
                             Trainer)
from train_helpers import blobs, mlp, weights


def sgd(model, lr=0.1):
    return cr.optim.SGD(model.parameters(), lr=lr)


class Score(Callback):
    """Puts a scripted value ``score`` into each epoch's logs (callbacks listed after it see it) and keeps a
    copy of the weights at every epoch end."""

    def __init__(self, values):
        self.values, self.snapshots = values, []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.values[epoch]
        self.snapshots.append(weights(trainer.model))


def _fit(callbacks, epochs, **kw):
    x, y = blobs(n=32)
    model = mlp()
    trainer = Trainer(model, sgd(model), nn.CrossEntropyLoss(), metrics=["accuracy"], callbacks=callbacks,
                      verbose=0, **kw)
    return model, trainer, trainer.fit((x, y), val=(x, y), epochs=epochs, batch_size=8)


# ------------------------------------------------------------------------------------------ EarlyStopping
def test_early_stopping_stops_and_restores_the_best_weights():
    score = Score([5.0, 3.0, 4.0, 3.5, 1.0, 0.0])      # best at epoch index 1; two bad epochs follow
    stop = EarlyStopping("score", patience=2, mode="min")
    model, _, h = _fit([score, stop], epochs=6)
    assert len(h) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert "early stopping: score did not improve for 2 epochs" in h.stop_reason
    for k, v in score.snapshots[1].items():
        np.testing.assert_array_equal(weights(model)[k], v)
    assert not np.array_equal(score.snapshots[3]["0.weight"], score.snapshots[1]["0.weight"])


def test_early_stopping_restores_even_when_it_never_fired():
    score = Score([2.0, 9.0, 1.0, 3.0])                 # max mode: best at epoch index 1, patience not reached
    stop = EarlyStopping("score", patience=10, mode="max")
    model, _, h = _fit([score, stop], epochs=4)
    assert len(h) == 4 and stop.stopped_epoch is None and h.stop_reason is None
    for k, v in score.snapshots[1].items():
        np.testing.assert_array_equal(weights(model)[k], v)


def test_early_stopping_min_delta_and_auto_mode():
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("val_loss").mode == "min"
    score = Score([1.0, 0.95, 0.92, 0.91])              # improvements smaller than min_delta=0.1 do not count
    stop = EarlyStopping("score", patience=2, min_delta=0.1, restore_best=False)
    model, _, h = _fit([score, stop], epochs=4)
    assert len(h) == 3
    for k, v in score.snapshots[2].items():             # restore_best=False: the last weights stay
        np.testing.assert_array_equal(weights(model)[k], v)


@pytest.mark.parametrize("make", [lambda: EarlyStopping("val_acuracy"),
                                  lambda: ModelCheckpoint("unused-dir", monitor="val_acuracy")])
def test_unknown_monitor_is_an_error_at_the_end_of_the_first_epoch(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    epochs = []

    class Count(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            epochs.append(epoch)

    with pytest.raises(ValueError, match=r"monitor 'val_acuracy' is not among .*accuracy, loss, lr, val_accuracy, "
                                         r"val_loss; did you mean 'val_accuracy'\?"):
        _fit([Count(), make()], epochs=3)
    assert epochs == [0]
    assert not os.path.exists("unused-dir")


def test_missing_val_data_is_named_in_the_monitor_error():
    x, y = blobs(n=8)
    model = mlp()
    with pytest.raises(ValueError, match="exist only when fit\\(\\) is given val data"):
        Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[EarlyStopping()], verbose=0).fit((x, y))


# ---------------------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_best_last_and_every_n(tmp_path):
    score = Score([3.0, 1.0, 2.0, 4.0])
    ckpt = ModelCheckpoint(tmp_path, monitor="score", mode="min", every_n_epochs=2)
    model, trainer, h = _fit([score, ckpt], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["best.safetensors", "epoch0002.safetensors", "epoch0004.safetensors",
                                            "last.safetensors"]
    best = cr.load(tmp_path / "best.safetensors")
    assert best["position"] == {"epoch": 2, "batch": 0, "global_step": 8}
    for k, v in score.snapshots[1].items():
        np.testing.assert_array_equal(best["model"][k].numpy(), v)
    last = cr.load(tmp_path / "last.safetensors")
    for k, v in weights(model).items():
        np.testing.assert_array_equal(last["model"][k].numpy(), v)
    assert ckpt.best == 1.0 and ckpt.best_path == str(tmp_path / "best.safetensors")


def test_model_checkpoint_weights_only_loads_into_a_model(tmp_path):
    ckpt = ModelCheckpoint(tmp_path, monitor="val_loss", weights_only=True, save_last=False)
    model, _, _ = _fit([ckpt], epochs=2)
    fresh = mlp(seed=5)
    fresh.load_state_dict(cr.load(tmp_path / "best.safetensors"))
    assert set(weights(fresh)) == set(weights(model))


def test_model_checkpoint_needs_a_monitor_for_best():
    with pytest.raises(ValueError, match="needs a monitor"):
        ModelCheckpoint("d", monitor=None)
    ModelCheckpoint("d", monitor=None, save_best=False)


# ---------------------------------------------------------------------------------------------- CSVLogger
def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "sub" / "log.csv"
    _, _, h = _fit([CSVLogger(path)], epochs=3)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["val_loss"]) for r in rows] == h.history["val_loss"]
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]


def test_log_dir_adds_the_csv_logger(tmp_path):
    _fit([], epochs=2, log_dir=tmp_path)
    with open(tmp_path / "metrics.csv") as f:
        assert len(f.read().splitlines()) == 3


# ----------------------------------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_names_the_parameter_and_keeps_finite_weights():
    before = []

    class Poison(Callback):                       # runs before TerminateOnNaN: corrupts one gradient at step 3
        def on_before_optimizer_step(self, trainer, optimizer):
            before.append(weights(trainer.model))
            if trainer.global_step == 2:
                trainer.model[2].weight.grad._data[0, 1] = np.nan

    stop = TerminateOnNaN()
    model, trainer, h = _fit([Poison(), stop], epochs=3)
    assert "'2.weight'" in stop.message and "1 NaN" in stop.message
    assert h.stop_reason == stop.message and h.alarms[0]["source"] == "TerminateOnNaN"
    assert len(before) == 3 and trainer.global_step == 3
    for k, v in before[2].items():                # the poisoned step did not change the weights
        np.testing.assert_array_equal(weights(model)[k], v)
    assert np.isfinite(weights(model)["2.weight"]).all()
    assert "TerminateOnNaN" in h.summary()


def test_terminate_on_nan_real_divergence():
    x, y = blobs(n=16)
    x[3, 0] = np.inf                              # one bad sample: the gradient of the first layer goes NaN
    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[TerminateOnNaN()], verbose=0).fit(
        (x, y), epochs=2, batch_size=16)
    assert "'0.weight'" in h.stop_reason
    assert all(np.isfinite(v).all() for v in weights(model).values())


# -------------------------------------------------------------------------------------------- TensorBoard
def test_tensorboard_event_file_reads_back(tmp_path):
    pytest.importorskip("tensorboardX")
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    _fit([TensorBoard(tmp_path / "tb", update_freq=2)], epochs=3)
    acc = ea_mod.EventAccumulator(str(tmp_path / "tb"), size_guidance={ea_mod.HISTOGRAMS: 0, ea_mod.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert [e.step for e in acc.Scalars(f"epoch/{key}")] == [1, 2, 3]
    assert [e.step for e in acc.Scalars("batch/loss")] == [2, 4, 6, 8, 10, 12]
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f"weights/{name}" in tags["histograms"] and f"grads/{name}" in tags["histograms"]
        assert [e.step for e in acc.Histograms(f"weights/{name}")] == [1, 2, 3]
    w = acc.Histograms("weights/0.weight")[0].histogram_value
    assert w.num == 16 * 5
    assert acc.Scalars("epoch/lr")[0].value == pytest.approx(0.1)


def test_tensorboard_missing_extra_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r'^TensorBoard callback needs tensorboardX: pip install '
                                          r'"chainrule\[tensorboard\]"$'):
        TensorBoard("x")


def test_history_alarms_show_in_the_summary_and_output(capsys):
    class Alarm(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                trainer.history.alarm("gradient norm exploded", source="GradientMonitor", epoch=epoch)

    x, y = blobs(n=8)
    model = mlp()
    h = Trainer(model, sgd(model), nn.CrossEntropyLoss(), callbacks=[Alarm()]).fit((x, y), epochs=2)
    assert h.alarms[0]["message"] == "gradient norm exploded"
    assert "[GradientMonitor] gradient norm exploded (epoch 1)" in h.summary()
    assert "gradient norm exploded" in capsys.readouterr().out
    assert not math.isnan(h.history["loss"][1])
