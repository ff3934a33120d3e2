"""Exact resume: a run interrupted at any batch and resumed from its checkpoint ends with bit-identical
weights (and history) to the uninterrupted run; Ctrl-C writes that checkpoint and exits cleanly."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import Callback, EarlyStopping, ModelCheckpoint, Trainer
from chainrule.utils.data import DataLoader, TensorDataset
from train_helpers import blobs, mlp, weights

EPOCHS = 3


def build(log_dir=None, callbacks=(), generator_seed=7):
    """A run with every source of state: shuffling by its own generator, dropout (global generator), Adam,
    a per-step scheduler, accumulation, metrics, EarlyStopping's best weights."""
    x, y = blobs(n=45, seed=2)                   # 45 samples, batch 4: 12 batches, the last one short
    model = mlp(dropout=0.3)
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.9)
    gen = cr.Generator().manual_seed(generator_seed)
    train = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=4, shuffle=True, generator=gen)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy", "f1"], scheduler=sched,
                      scheduler_interval="step", accumulate=3, seed=11, log_dir=log_dir, verbose=0,
                      callbacks=[EarlyStopping("val_loss", patience=5), *callbacks])
    return model, trainer, train, (x, y)


def reference():
    model, trainer, train, val = build()
    h = trainer.fit(train, val=val, epochs=EPOCHS)
    return weights(model), h


class CtrlC(Callback):
    """Sends this process SIGINT (as Ctrl-C does) at the end of the given batch."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_batch_end(self, trainer, batch_idx, logs):
        if (trainer.epoch, batch_idx) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("epoch,batch", [(0, 0), (1, 4), (1, 11), (2, 7)])   # 4 and 7: mid-accumulation
def test_interrupted_run_resumes_bit_identically(tmp_path, epoch, batch):
    ref_w, ref_h = reference()
    model, trainer, train, val = build(log_dir=tmp_path, callbacks=[CtrlC(epoch, batch)])
    h = trainer.fit(train, val=val, epochs=EPOCHS)
    assert h.interrupted and h.checkpoint == os.path.join(str(tmp_path), "interrupted.safetensors")
    assert len(h) == epoch                       # the interrupted epoch is not recorded (it has not ended)
    state = cr.load(h.checkpoint)
    assert state["position"]["epoch"] == epoch and state["position"]["batch"] == batch + 1

    model2, trainer2, train2, val2 = build(log_dir=tmp_path, generator_seed=99)   # other shuffling state, ...
    for p in model2.parameters():                                  # ... other weights ...
        p.data.fill_(0.5)
    cr.manual_seed(12345)                                          # ... and another global RNG state
    h2 = trainer2.fit(train2, val=val2, epochs=EPOCHS, resume=h.checkpoint)
    for k, v in ref_w.items():
        np.testing.assert_array_equal(weights(model2)[k], v, err_msg=k)
    assert h2.history == ref_h.history
    with open(tmp_path / "metrics.csv") as f:     # the log goes on where it stopped: one row per epoch
        rows = f.read().splitlines()
    assert len(rows) == 1 + EPOCHS and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]


def test_resume_from_an_epoch_checkpoint(tmp_path):
    ref_w, ref_h = reference()
    model, trainer, train, val = build(callbacks=[ModelCheckpoint(tmp_path, save_best=False, every_n_epochs=1)])
    trainer.fit(train, val=val, epochs=EPOCHS)
    model2, trainer2, train2, val2 = build(generator_seed=3)
    h2 = trainer2.fit(train2, val=val2, epochs=EPOCHS, resume=tmp_path / "epoch0001.safetensors")
    for k, v in ref_w.items():
        np.testing.assert_array_equal(weights(model2)[k], v, err_msg=k)
    assert h2.history == ref_h.history


def test_resume_refuses_a_weights_only_file(tmp_path):
    model, trainer, train, val = build()
    cr.save(model.state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        trainer.fit(train, epochs=1, resume=tmp_path / "w.safetensors")


SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import chainrule as cr
    from chainrule import nn
    from chainrule.train import Callback, Trainer

    class Slow(Callback):
        def on_batch_end(self, trainer, batch_idx, logs):
            if trainer.global_step == 10:      # in the second epoch (8 batches each)
                print("READY", flush=True)
            time.sleep(0.02)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    t = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), callbacks=[Slow()],
                log_dir=sys.argv[1])
    h = t.fit((x, y), epochs=1000, batch_size=8)
    print("RETURNED", h.interrupted, h.checkpoint, flush=True)
""")


def test_ctrl_c_in_a_subprocess_leaves_a_loadable_checkpoint(tmp_path):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "run")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        while line and "READY" not in line:
            line = proc.stdout.readline()
        assert "READY" in line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    ckpt = tmp_path / "run" / "interrupted.safetensors"
    assert f"RETURNED True {ckpt}" in out
    assert "interrupted: checkpoint saved to" in err and "Traceback" not in err
    state = cr.load(ckpt)
    assert state["position"]["epoch"] >= 1 and state["format"] == "chainrule.train/1"
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.load_state_dict(state["model"])
    with open(tmp_path / "run" / "metrics.csv") as f:     # epochs logged before Ctrl-C are all there
        assert len(f.read().splitlines()) == 1 + state["position"]["epoch"]
