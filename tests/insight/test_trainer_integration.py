"""GradientMonitor inside Trainer.fit: alarms reach History, validation forwards are not sampled."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import GradientMonitor

train = pytest.importorskip("chainrule.train")
Trainer = getattr(train, "Trainer", None)
if Trainer is None:
    pytest.skip("chainrule.train has no Trainer yet", allow_module_level=True)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 16)).astype(np.float32), rng.integers(0, 4, n)


def _tanh_mlp(std):
    layers, d = [], 16
    for _ in range(5):
        lin = nn.Linear(d, 32)
        nn.init.normal_(lin.weight, 0, std) if std else nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.Tanh()]
        d = 32
    return nn.Sequential(*layers, nn.Linear(d, 4))


def test_alarm_lands_in_history():
    cr.manual_seed(0)
    model = _tanh_mlp(0.01)
    monitor = GradientMonitor(model, every=2, verbose=False)
    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.05), nn.CrossEntropyLoss(),
                      callbacks=[monitor], verbose=0)
    history = trainer.fit(_data(), val=_data(32, 1), epochs=2, batch_size=16)
    assert [r["step"] for r in monitor.records] == [0, 2, 4, 6]          # 4 batches × 2 epochs, every 2
    assert all("update_ratio" in r["layers"]["0"] for r in monitor.records)
    vanishing = [a for a in history.alarms if a["source"] == "GradientMonitor (vanishing)"]
    assert len(vanishing) == 1 and "layer '0' (Linear 16→32)" in vanishing[0]["message"]
    assert "vanishing" in history.summary()


def test_monitor_without_model_watches_trainer_model_and_stays_silent():
    cr.manual_seed(0)
    model = _tanh_mlp(None)
    monitor = GradientMonitor(every=1, verbose=False)
    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.05), nn.CrossEntropyLoss(),
                      callbacks=[monitor], verbose=0)
    history = trainer.fit(_data(), val=_data(32, 1), epochs=1, batch_size=16)
    assert monitor.model is model and len(monitor.records) == 4
    assert history.alarms == [] and monitor.alarms == []
