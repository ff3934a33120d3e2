"""Normalisation, dropout, embedding and loss layers: forward + backward step time, chainrule vs PyTorch.

Same harness as op_overhead.py: each (library, case, threads) measurement runs in its own fresh Python
process, processes are interleaved round by round, and thread counts are pinned through the BLAS/OpenMP
environment variables (and torch.set_num_threads) before anything is imported. Upstream gradients are
random contiguous arrays (as inside a network), not the broadcast ones of ``.sum().backward()``.

    python benchmarks/norm_loss.py                  # threads 1 and 2, 5 rounds
    python benchmarks/norm_loss.py --threads 1 --rounds 3 --cases layernorm embedding
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

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
LIBS = ("chainrule", "torch")


# ------------------------------------------------------------------------------------------- workers
def _import(lib):
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
        return torch, torch.nn
    import chainrule
    return chainrule, chainrule.nn


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


def worker(lib, case, threads):
    step = _case(lib, case)
    iters = CASES[case][1]
    for _ in range(max(5, iters // 10)):           # warm-up
        step()
    best = float("inf")
    for _ in range(3):                              # best of 3 blocks within the process
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        best = min(best, (time.perf_counter() - t0) / iters)
    print(json.dumps({"us": best * 1e6}))


# ------------------------------------------------------------------------------------------- driver
def run_one(lib, case, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_THREADS"):
        env[var] = str(threads)
    out = subprocess.run([sys.executable, __file__, "--worker", lib, case, str(threads)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"{lib}/{case} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["us"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--worker", nargs=3, metavar=("LIB", "CASE", "THREADS"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; each number: median over {args.rounds} "
          f"interleaved rounds of a fresh process's best-of-3 mean step time")
    for threads in args.threads:
        print(f"\n== {threads} thread(s) ==")
        print(f"{'case':14} {'chainrule us':>13} {'torch us':>10} {'cr/torch':>9}")
        for case in args.cases:
            times = {lib: [] for lib in LIBS}
            for _ in range(args.rounds):
                for lib in LIBS:
                    t = run_one(lib, case, threads)
                    if t is not None:
                        times[lib].append(t)
            med = {lib: statistics.median(v) if v else float("nan") for lib, v in times.items()}
            print(f"{case:14} {med['chainrule']:13.1f} {med['torch']:10.1f} "
                  f"{med['chainrule'] / med['torch']:9.2f}   ({CASES[case][0]})")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
