"""A TransformerEncoderLayer training step: chainrule vs PyTorch.

d_model 128, 4 heads, feed-forward 512, sequence 64, batch 32 (batch_first), float32. One step = forward,
MSE loss to a fixed random target, backward, plain SGD update of every parameter. Cases: dropout 0, and
dropout 0.1 in both libraries.

Uses the shared harness (benchmarks/_harness.py): each (library, case, threads) measurement in its own fresh
process, interleaved round by round, threads pinned before anything is imported. Times are in microseconds.

    python benchmarks/transformer.py                 # threads 1 and 2, 5 rounds
    python benchmarks/transformer.py --threads 1 --rounds 3 --cases d0
    python benchmarks/transformer.py --profile       # cProfile of chainrule's step (1 thread)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

D_MODEL, NHEAD, DIM_FF, SEQ, BATCH = 128, 4, 512, 64, 32
CASES = {
    # name: (description, iterations per timed block)
    "d0": ("encoder layer step, dropout 0", 20),
    "d01": ("encoder layer step, dropout 0.1", 20),
}
DROPOUT = {"d0": 0.0, "d01": 0.1}


def make_step(lib, case):
    import numpy as np
    dropout = DROPOUT[case]
    mod = import_lib(lib)
    mod.manual_seed(0)
    layer = mod.nn.TransformerEncoderLayer(D_MODEL, NHEAD, DIM_FF, dropout=dropout, batch_first=True)
    layer.train()
    rng = np.random.default_rng(0)
    sd = {}                                          # the same weights in both libraries (same key order)
    for name, p in layer.state_dict().items():
        base = 1.0 if name.startswith("norm") and name.endswith("weight") else 0.0
        sd[name] = mod.tensor((rng.standard_normal(tuple(p.shape)) * 0.05 + base).astype(np.float32))
    layer.load_state_dict(sd)
    x = mod.tensor(rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32))
    target = mod.tensor(rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32))
    params = list(layer.parameters())
    lr = 0.01

    def step():
        out = layer(x)
        loss = ((out - target) ** 2).mean()
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
    step = make_step("chainrule", "d0")
    for _ in range(3):
        step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(20):
        step()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        run(__file__, CASES, make_step, title=f"TransformerEncoderLayer(d_model={D_MODEL}, nhead={NHEAD}, "
            f"dim_feedforward={DIM_FF}), batch {BATCH} x seq {SEQ}, float32: chainrule vs PyTorch")
