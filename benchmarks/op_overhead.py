"""Per-op overhead and a small MLP training step: chainrule vs PyTorch (vs hand-written NumPy).

    python benchmarks/op_overhead.py                 # threads 1 and 2, 5 interleaved rounds
    python benchmarks/op_overhead.py --threads 1 --rounds 3 --cases mlp64

Cases:
  expr1 / expr100   (a*b + c).tanh().sum() forward + backward on (1,) / (100,) tensors: 4 recorded ops, so
                    the time is almost all framework overhead (the NumPy column is the bare arithmetic)
  mlp64             784-200-10 MLP step at batch 64 written with raw tensor ops (x @ W + b, relu,
                    log_softmax + pick for chainrule / F.cross_entropy for torch), backward, in-place SGD
  mlp64nn           the same step as users write it: nn.Linear, nn.ReLU, F.cross_entropy
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

CASES = {
    "expr1": ("fwd+bwd of (a*b + c).tanh().sum(), shape (1,), 4 ops", 10000),
    "expr100": ("fwd+bwd of (a*b + c).tanh().sum(), shape (100,), 4 ops", 10000),
    "mlp64": ("MLP 784-200-10 step, batch 64, raw tensor ops: fwd, cross-entropy, bwd, SGD update", 500),
    "mlp64nn": ("MLP 784-200-10 step, batch 64, nn.Linear + F.cross_entropy, bwd, SGD update", 500),
}
LR = 0.01


def _data():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    weights = [(rng.standard_normal((784, 200)) * 0.05).astype(np.float32), np.zeros(200, np.float32),
               (rng.standard_normal((200, 10)) * 0.05).astype(np.float32), np.zeros(10, np.float32)]
    return x, y, weights


def _numpy_step(case):
    import numpy as np
    if case.startswith("expr"):
        rng = np.random.default_rng(0)
        a, b, c = (rng.standard_normal(1 if case == "expr1" else 100).astype(np.float32) for _ in range(3))

        def step():
            t = np.tanh(a * b + c)
            _ = t.sum()
            g = 1 - t * t            # d tanh; the sum's gradient is ones
            return g * b, g * a, g
        return step
    x, y, (w1, b1, w2, b2) = _data()
    rows = np.arange(64)

    def step():
        h_pre = x @ w1 + b1
        h = np.maximum(h_pre, 0)
        logits = h @ w2 + b2
        e = np.exp(logits - logits.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        _ = -np.log(p[rows, y]).mean()
        p[rows, y] -= 1
        p /= 64
        dh = (p @ w2.T) * (h_pre > 0)
        for w, g in zip((w1, b1, w2, b2), (x.T @ dh, dh.sum(0), h.T @ p, p.sum(0))):
            w -= LR * g
    return step


def make_step(lib, case):
    if lib == "numpy":
        return _numpy_step(case)
    mod = import_lib(lib)
    if case.startswith("expr"):
        import numpy as np
        rng = np.random.default_rng(0)
        a, b, c = (mod.tensor(rng.standard_normal(1 if case == "expr1" else 100).astype(np.float32),
                              requires_grad=True) for _ in range(3))

        def step():
            a.grad = b.grad = c.grad = None
            (a * b + c).tanh().sum().backward()
        return step
    x, y, weights = _data()
    xt, yt = mod.tensor(x), mod.tensor(y)
    if case == "mlp64nn":
        model = mod.nn.Sequential(mod.nn.Linear(784, 200), mod.nn.ReLU(), mod.nn.Linear(200, 10))
        params = list(model.parameters())

        def forward():
            return mod.nn.functional.cross_entropy(model(xt), yt)
    else:
        params = [mod.tensor(w, requires_grad=True) for w in weights]
        w1, b1, w2, b2 = params
        rows = mod.arange(64)

        def forward():
            logits = (xt @ w1 + b1).relu() @ w2 + b2
            if lib == "torch":
                return mod.nn.functional.cross_entropy(logits, yt)
            return -logits.log_softmax(1)[rows, yt].mean()

    def step():
        loss = forward()
        for p in params:
            p.grad = None
        loss.backward()
        with mod.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, libs=("chainrule", "torch", "numpy"),
        title="op overhead and MLP step: chainrule vs PyTorch (numpy = hand-written forward+backward)")
