"""A TransformerEncoderLayer training step: chainrule vs PyTorch.

d_model 128, 4 heads, feed-forward 512, sequence 64, batch 32 (batch_first), float32. One step = forward,
MSE loss to a fixed random target, backward, plain SGD update of every parameter. Cases: dropout 0, and
dropout 0.1 in both libraries.

Each (library, case, threads) measurement runs in its own fresh Python process, and the processes are
interleaved round by round, so neither library is flattered by running second in a warm process or by
machine noise that drifts over time. Thread counts are pinned through the BLAS/OpenMP environment
variables (and torch.set_num_threads) before anything is imported.

    python benchmarks/transformer.py                 # threads 1 and 2, 5 rounds
    python benchmarks/transformer.py --threads 1 --rounds 3 --cases d0
    python benchmarks/transformer.py --profile       # cProfile of chainrule's step (1 thread)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

D_MODEL, NHEAD, DIM_FF, SEQ, BATCH = 128, 4, 512, 64, 32
CASES = {
    # name: (description, dropout, iterations per timed block)
    "d0": ("encoder layer step, dropout 0", 0.0, 20),
    "d01": ("encoder layer step, dropout 0.1", 0.1, 20),
}
LIBS = ("chainrule", "torch")


# ------------------------------------------------------------------------------------------- workers
def _import(lib):
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        return torch
    import chainrule
    return chainrule


def make_step(lib, dropout):
    import numpy as np
    mod = _import(lib)
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


def worker(lib, case, threads):
    step = make_step(lib, CASES[case][1])
    iters = CASES[case][2]
    for _ in range(5):                               # warm-up
        step()
    best = float("inf")
    for _ in range(3):                               # best of 3 blocks within the process
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        best = min(best, (time.perf_counter() - t0) / iters)
    print(json.dumps({"ms": best * 1e3}))


def profile():
    import cProfile
    import pstats
    step = make_step("chainrule", 0.0)
    for _ in range(3):
        step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(20):
        step()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


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
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--worker", nargs=3, metavar=("LIB", "CASE", "THREADS"))
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    if args.profile:
        profile()
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; TransformerEncoderLayer(d_model={D_MODEL}, "
          f"nhead={NHEAD}, dim_feedforward={DIM_FF}), batch {BATCH} x seq {SEQ}, float32; each number: median "
          f"over {args.rounds} interleaved rounds of a fresh process's best-of-3 mean step time")
    for threads in args.threads:
        print(f"\n== {threads} thread(s) ==")
        print(f"{'case':6} {'chainrule ms':>13} {'torch ms':>10} {'cr/torch':>9}")
        for case in args.cases:
            times = {lib: [] for lib in LIBS}
            for _ in range(args.rounds):
                for lib in LIBS:
                    t = run_one(lib, case, threads)
                    if t is not None:
                        times[lib].append(t)
            med = {lib: statistics.median(v) if v else float("nan") for lib, v in times.items()}
            print(f"{case:6} {med['chainrule']:13.2f} {med['torch']:10.2f} {med['chainrule'] / med['torch']:9.2f}"
                  f"   ({CASES[case][0]})")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
