"""Per-call overhead of ``Module.__call__``: chainrule vs PyTorch.

    python benchmarks/module_call.py                  # threads 1 and 2, 5 interleaved rounds
    python benchmarks/module_call.py --threads 1 --rounds 3 --cases call

Cases:
  call        module(x) for a module whose forward returns x: nothing but the call machinery
  direct      module.forward(x), the same module: the baseline the call should stay close to
  linear      Linear(8, 8) on a (1, 8) tensor under no_grad: a small layer, overhead-dominated
  seq_step    Sequential(Linear(8, 16), ReLU, Linear(16, 1)) forward + backward at batch 1
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

CASES = {
    "call": ("module(x), forward returns x: the call machinery alone", 200000),
    "direct": ("module.forward(x), same module: baseline", 200000),
    "linear": ("Linear(8, 8)(x), x (1, 8), no_grad", 50000),
    "seq_step": ("Sequential(Linear 8-16, ReLU, Linear 16-1) fwd + bwd, batch 1", 5000),
}


def make_step(lib, case):
    mod = import_lib(lib)
    import numpy as np
    x = mod.tensor(np.random.default_rng(0).standard_normal((1, 8)).astype(np.float32))
    if case in ("call", "direct"):
        class Id(mod.nn.Module):
            def forward(self, x):
                return x
        m = Id()
        return (lambda: m(x)) if case == "call" else (lambda: m.forward(x))
    if case == "linear":
        lin = mod.nn.Linear(8, 8)

        def step():
            with mod.no_grad():
                return lin(x)
        return step
    model = mod.nn.Sequential(mod.nn.Linear(8, 16), mod.nn.ReLU(), mod.nn.Linear(16, 1))
    params = list(model.parameters())

    def step():
        for p in params:
            p.grad = None
        model(x).sum().backward()
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, title="Module.__call__ overhead: chainrule vs PyTorch")
