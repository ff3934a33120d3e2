"""LeNet-5 training step: chainrule vs PyTorch (CPU, float32, batch 64, random 28×28 inputs).

    conv 1→6 5×5 pad 2, ReLU, maxpool 2, conv 6→16 5×5, ReLU, maxpool 2, flatten, 400→120, ReLU,
    120→84, ReLU, 84→10; cross-entropy; SGD step (p -= lr·grad)

Uses the shared harness (benchmarks/_harness.py): each (library, threads) measurement in its own fresh
process, interleaved round by round, threads pinned before anything is imported; --cpu adds the CPU-time
ratio (steadier when the machine is shared). Both models start from the same weights (copied from the
chainrule model). Times in microseconds.

    python benchmarks/lenet5.py --cpu              # threads 1 and 2, 5 rounds
    python benchmarks/lenet5.py --threads 1 --rounds 3
    python benchmarks/lenet5.py --profile          # cProfile of the chainrule step (top functions)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

BATCH = 64
CASES = {"lenet5": ("LeNet-5 training step, batch 64: fwd, cross-entropy, bwd, SGD update", 100)}


def _model(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def _weights():
    """The initial weights, as NumPy arrays: chainrule's default init with a fixed seed."""
    import chainrule as cr
    cr.manual_seed(0)
    return [p.detach().numpy().copy() for p in _model(cr.nn).parameters()]


def make_step(lib, case="lenet5"):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    lr = 0.01
    weights = _weights()
    mod = import_lib(lib)
    F = mod.nn.functional
    model = _model(mod.nn)
    params = list(model.parameters())
    with mod.no_grad():
        for p, w in zip(params, weights):
            p.copy_(mod.tensor(w))
    xt, yt = mod.tensor(x), mod.tensor(y)

    def step():
        loss = F.cross_entropy(model(xt), yt)
        for p in params:
            p.grad = None
        loss.backward()
        with mod.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)
        return loss
    return step


def profile():
    import cProfile
    import pstats
    step = make_step("chainrule")
    for _ in range(5):
        step()
    pr = cProfile.Profile(time.perf_counter if os.environ.get("BENCH_WALL") else time.process_time)
    pr.enable()
    for _ in range(50):
        step()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        run(__file__, CASES, make_step, title="LeNet-5 training step: chainrule vs PyTorch (float32)")
