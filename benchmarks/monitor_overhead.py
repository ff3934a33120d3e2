"""What the gradient monitor costs: LeNet-5 training steps (batch 64, SGD, random 28×28 inputs), plain
versus watched by ``GradientMonitor(model, every=10)`` (target: ≤ 5 % of the step time).

One measured step = 10 training steps, so the monitor samples exactly once in each: its cost is the
hooks' flag test on every step plus one sampled step's statistics (gradient/weight norms, activation
stats and histograms, the update ratio of the next step). ``plain`` and ``monitor`` run in separate fresh
processes, interleaved (shared harness); the ratio column is monitor / plain (--cpu: also CPU time, the
steadier figure on a shared machine).

    python benchmarks/monitor_overhead.py --cpu --threads 1 2 --rounds 3
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import run  # noqa: E402

STEPS = 10
CASES = {"lenet5": ("10 LeNet-5 training steps (batch 64); the monitor samples 1 of them", 5)}


def make_step(lib, case="lenet5"):
    import numpy as np

    import chainrule as cr
    from chainrule import nn
    from chainrule.insight import GradientMonitor
    from lenet5 import _model

    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, 64))
    model = _model(nn)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    monitor = GradientMonitor(model, every=STEPS, verbose=False) if lib == "monitor" else None
    F = nn.functional

    def step():
        for _ in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if monitor is not None:
                monitor.step(loss)
            opt.step()
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, libs=("plain", "monitor"), baseline="plain",
        title="GradientMonitor overhead on LeNet-5 (every=10)")
