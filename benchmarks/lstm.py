"""Recurrent layers: an LSTM training step (and inference / GRU / stacked variants), chainrule vs PyTorch.

The main case (``lstm``): a 1-layer LSTM, input 32, hidden 128, sequence 35, batch 32, float32; forward,
MSE to a fixed random target, backward, plain SGD update of every parameter. Shared harness
(benchmarks/_harness.py): each (library, case, threads) measurement in its own fresh process, libraries
interleaved round by round, threads pinned through the BLAS/OpenMP variables and torch.set_num_threads.

    python benchmarks/lstm.py                       # threads 1 and 2, 5 rounds, all cases
    python benchmarks/lstm.py --threads 1 --rounds 3 --cases lstm
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

SEQ, BATCH, IN, HID = 35, 32, 32, 128
CASES = {
    # name: (description, iterations per timed block)
    "lstm": (f"LSTM({IN}, {HID}), seq {SEQ}, batch {BATCH}: fwd, MSE, bwd, SGD step", 20),
    "lstm_infer": (f"LSTM({IN}, {HID}), seq {SEQ}, batch {BATCH}: forward under no_grad", 40),
    "gru": (f"GRU({IN}, {HID}), seq {SEQ}, batch {BATCH}: fwd, MSE, bwd, SGD step", 20),
    "lstm2_bi": (f"LSTM({IN}, {HID}, num_layers=2, bidirectional): train step", 8),
}


def make_step(lib, case):
    import numpy as np
    mod = import_lib(lib)
    mod.manual_seed(0)
    rng = np.random.default_rng(0)
    kind = "GRU" if case == "gru" else "LSTM"
    kwargs = {"num_layers": 2, "bidirectional": True} if case == "lstm2_bi" else {}
    net = getattr(mod.nn, kind)(IN, HID, **kwargs)
    d = 2 if kwargs else 1
    x = mod.tensor(rng.standard_normal((SEQ, BATCH, IN)).astype(np.float32))
    target = mod.tensor(rng.standard_normal((SEQ, BATCH, d * HID)).astype(np.float32))
    params = list(net.parameters())
    lr = 0.01

    if case == "lstm_infer":
        def step():
            with mod.no_grad():
                return net(x)
        return step

    def step():
        out, _ = net(x)
        loss = ((out - target) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with mod.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)
        return loss
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, title="recurrent layers: chainrule vs PyTorch (float32)")
