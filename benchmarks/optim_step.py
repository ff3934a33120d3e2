"""One optimiser step alone (gradients fixed, no forward/backward), chainrule vs PyTorch: the cost of the
update itself. ``mlp_adam``: Adam over the MLP 784-256-128-10 (6 tensors); ``gpt_adamw``: AdamW over a
2-block GPT (d 128, 30 tensors); ``gpt_sgd``: SGD with Nesterov momentum and weight decay over the same.

    python benchmarks/optim_step.py --threads 1 --rounds 5 [--cpu]
    python benchmarks/compare_revisions.py HEAD~3 benchmarks/optim_step.py mlp_adam gpt_adamw --rounds 7
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

CASES = {"mlp_adam": ("Adam step, MLP 784-256-128-10 (6 tensors)", 300),
         "gpt_adamw": ("AdamW step, 2-block GPT d128 (30 tensors, 0.43 M params)", 100),
         "gpt_sgd": ("SGD(momentum, nesterov, wd) step, same GPT", 100)}


def shapes(case):
    if case == "mlp_adam":
        return [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    d, vocab, block = 128, 65, 64
    per_block = [(d,), (d,), (3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (4 * d, d), (4 * d,), (d, 4 * d), (d,)]
    return [(vocab, d), (block, d)] + per_block * 2 + [(d,), (d,), (vocab, d), (vocab,)]


def make_step(lib, case):
    import numpy as np
    torch = import_lib(lib)
    rng = np.random.default_rng(0)
    params = []
    for s in shapes(case):
        p = torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
        p.grad = torch.tensor(rng.standard_normal(s).astype(np.float32))
        params.append(p)
    if case == "mlp_adam":
        opt = torch.optim.Adam(params, lr=1e-3)
    elif case == "gpt_adamw":
        opt = torch.optim.AdamW(params, lr=3e-4)
    else:
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, nesterov=True, weight_decay=1e-4)
    return opt.step


if __name__ == "__main__":
    run(__file__, CASES, make_step, title="optimiser step alone")
