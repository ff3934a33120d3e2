"""Normalisation, dropout, embedding and loss layers: forward + backward step time, chainrule vs PyTorch.

Uses the shared harness (benchmarks/_harness.py): each (library, case, threads) measurement in its own fresh
process, interleaved round by round, threads pinned before anything is imported. Upstream gradients are
random contiguous arrays (as inside a network), not the broadcast ones of ``.sum().backward()``.

    python benchmarks/norm_loss.py                  # threads 1 and 2, 5 rounds
    python benchmarks/norm_loss.py --threads 1 --rounds 3 --cases layernorm embedding
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

CASES = {
    # name: (description, iterations)
    "layernorm": ("LayerNorm(256) on (32, 128, 256) float32, fwd+bwd", 100),
    "batchnorm2d": ("BatchNorm2d(64) train on (32, 64, 16, 16), fwd+bwd", 100),
    "groupnorm": ("GroupNorm(8, 64) on (32, 64, 16, 16), fwd+bwd", 100),
    "embedding": ("Embedding(10000, 128) on (32, 128) indices, fwd+bwd", 100),
    "dropout": ("Dropout(0.1) on (32, 128, 256), fwd+bwd", 100),
    "cross_entropy": ("cross_entropy (256, 1000) logits, label_smoothing=0.1, fwd+bwd", 200),
    "bce_logits": ("binary_cross_entropy_with_logits (256, 1000), fwd+bwd", 200),
    "mse": ("mse_loss (256, 1000), fwd+bwd", 200),
}


# ------------------------------------------------------------------------------------------- workers
def _import(lib):
    m = import_lib(lib)
    return m, m.nn


def _case(lib, case):
    import numpy as np
    m, nn = _import(lib)
    F = nn.functional
    rng = np.random.default_rng(0)

    def leaf(shape):
        return m.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    def layer_step(layer, x):
        g = m.tensor(rng.standard_normal(tuple(x.shape)).astype(np.float32))

        def step():
            x.grad = None
            layer.zero_grad()
            layer(x).backward(g)
        return step

    def loss_step(fn, x):
        def step():
            x.grad = None
            fn(x).backward()
        return step

    if case == "layernorm":
        return layer_step(nn.LayerNorm(256), leaf((32, 128, 256)))
    if case == "batchnorm2d":
        return layer_step(nn.BatchNorm2d(64), leaf((32, 64, 16, 16)))
    if case == "groupnorm":
        return layer_step(nn.GroupNorm(8, 64), leaf((32, 64, 16, 16)))
    if case == "dropout":
        return layer_step(nn.Dropout(0.1), leaf((32, 128, 256)))
    if case == "embedding":
        emb = nn.Embedding(10000, 128)
        idx = m.tensor(rng.integers(0, 10000, (32, 128)))
        g = m.tensor(rng.standard_normal((32, 128, 128)).astype(np.float32))

        def step():
            emb.zero_grad()
            emb(idx).backward(g)
        return step
    logits = leaf((256, 1000))
    if case == "cross_entropy":
        t = m.tensor(rng.integers(0, 1000, 256))
        return loss_step(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), logits)
    y = m.tensor(rng.random((256, 1000)).astype(np.float32))
    if case == "bce_logits":
        return loss_step(lambda x: F.binary_cross_entropy_with_logits(x, y), logits)
    if case == "mse":
        return loss_step(lambda x: F.mse_loss(x, y), logits)
    raise ValueError(case)


if __name__ == "__main__":
    run(__file__, CASES, _case, title="normalisation, dropout, embedding and losses: chainrule vs PyTorch")
