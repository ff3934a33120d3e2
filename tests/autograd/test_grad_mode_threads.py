"""Grad mode and anomaly mode are per thread, as in PyTorch: one thread's no_grad (or the engine's own
switching during backward) never changes what another thread records.

The threads switch every 10 microseconds (``sys.setswitchinterval(1e-5)``), so with a process-wide flag the
interleavings that break training happen within a few steps (measured before the fix: most steps of two
concurrently training threads failed or silently lost gradients).
"""
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


@pytest.fixture(autouse=True)
def _fast_thread_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)
    cr.set_grad_enabled(True)


def _run_threads(targets):
    """Run each callable in its own thread; re-raise the first exception any of them raised."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:      # noqa: BLE001 - reported in the main thread below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _make_training(seed, steps):
    """A small MLP and its data, and ``train()`` running ``steps`` SGD steps; returns (model, train, log)
    where log counts the steps whose parameters all received a gradient."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(cr.tensor(rng.standard_normal(p.shape) * 0.3, dtype=cr.float32))
    x = cr.tensor(rng.standard_normal((32, 8)), dtype=cr.float32)
    y = cr.tensor(rng.standard_normal((32, 1)), dtype=cr.float32)
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    log = {"full_grad_steps": 0}

    def train():
        for _ in range(steps):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            if all(p.grad is not None for p in model.parameters()):
                log["full_grad_steps"] += 1
            opt.step()
    return model, train, log


def _weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_two_threads_training_two_models_match_the_sequential_run():
    steps = 300
    sequential = []
    for seed in (1, 2):
        model, train, _ = _make_training(seed, steps)
        train()
        sequential.append(_weights(model))

    runs = [_make_training(seed, steps) for seed in (1, 2)]
    _run_threads([train for _, train, _ in runs])
    for (model, _, log), expected in zip(runs, sequential):
        assert log["full_grad_steps"] == steps           # no step silently left a parameter without .grad
        for got, want in zip(_weights(model), expected):
            np.testing.assert_array_equal(got, want)     # bit-identical to training alone
    assert cr.is_grad_enabled()


def test_no_grad_inference_thread_beside_a_training_thread():
    steps = 300
    alone, train_alone, _ = _make_training(3, steps)
    train_alone()

    model, train, log = _make_training(3, steps)
    other = nn.Linear(8, 4)
    x = cr.randn(16, 8)
    done = threading.Event()
    seen = {"inference_calls": 0, "recorded": 0}

    def infer():
        with cr.no_grad():
            while not done.is_set():
                out = other(x)
                seen["inference_calls"] += 1
                seen["recorded"] += out.requires_grad     # under no_grad nothing may be recorded

    def train_then_stop():
        try:
            train()
        finally:
            done.set()

    _run_threads([infer, train_then_stop])
    assert log["full_grad_steps"] == steps
    assert seen["inference_calls"] > 0 and seen["recorded"] == 0
    for got, want in zip(_weights(model), _weights(alone)):
        np.testing.assert_array_equal(got, want)


def test_concurrent_no_grad_blocks_leave_every_thread_enabled():
    n = 5000
    bad = []

    def toggle():
        for _ in range(n):
            with cr.no_grad():
                if cr.is_grad_enabled():
                    bad.append("on inside no_grad")
            if not cr.is_grad_enabled():
                bad.append("off after no_grad")

    _run_threads([toggle] * 4)
    assert bad == []
    assert cr.is_grad_enabled()                          # the main thread's mode was never touched


def test_a_new_thread_starts_with_grad_on_and_anomaly_off():
    seen = {}

    def probe():
        seen["grad"] = cr.is_grad_enabled()
        seen["anomaly"] = cr.autograd.is_anomaly_enabled()
        x = cr.tensor([1.0], requires_grad=True)
        seen["recorded"] = (x * 2).requires_grad

    with cr.no_grad(), cr.autograd.detect_anomaly():
        _run_threads([probe])
        assert not cr.is_grad_enabled() and cr.autograd.is_anomaly_enabled()   # main thread's own modes
    assert seen == {"grad": True, "anomaly": False, "recorded": True}
    assert cr.is_grad_enabled() and not cr.autograd.is_anomaly_enabled()


def test_set_grad_enabled_and_inference_mode_only_affect_the_calling_thread():
    seen = []
    entered, release = threading.Event(), threading.Event()

    def worker():
        cr.set_grad_enabled(False)                       # plain call: stays off in this thread only
        with cr.inference_mode():
            entered.set()
            release.wait(10)
        seen.append(cr.is_grad_enabled())

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(10)
    main_during = cr.is_grad_enabled()
    x = cr.tensor([1.0], requires_grad=True)
    main_records = (x * 2).requires_grad
    release.set()
    t.join()
    assert main_during and main_records
    assert seen == [False]
