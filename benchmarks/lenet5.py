"""LeNet-5 training step: chainrule vs PyTorch (CPU, float32, batch 64, random 28×28 inputs).

    conv 1→6 5×5 pad 2, ReLU, maxpool 2, conv 6→16 5×5, ReLU, maxpool 2, flatten, 400→120, ReLU,
    120→84, ReLU, 84→10; cross-entropy; SGD step (p -= lr·grad)

Same harness as op_overhead.py: each (library, threads) measurement runs in its own fresh Python
process, processes are interleaved round by round, and the thread count is pinned through the
BLAS/OpenMP environment variables (and torch.set_num_threads) before anything is imported. Both models
start from the same weights (copied from the chainrule model).

    python benchmarks/lenet5.py                    # threads 1 and 2, 5 rounds
    python benchmarks/lenet5.py --threads 1 --rounds 3
    python benchmarks/lenet5.py --profile          # cProfile of the chainrule step (top functions)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 64
ITERS = 100
LIBS = ("chainrule", "torch")


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


def make_step(lib):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    lr = 0.01
    weights = _weights()
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        mod, F = torch, torch.nn.functional
    else:
        import chainrule as mod
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


def worker(lib):
    step = make_step(lib)
    for _ in range(10):                            # warm-up
        step()
    best = best_cpu = float("inf")
    for _ in range(3):                             # best of 3 blocks within the process
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(ITERS):
            step()
        best = min(best, (time.perf_counter() - t0) / ITERS)
        best_cpu = min(best_cpu, (time.process_time() - c0) / ITERS)
    print(json.dumps({"ms": best * 1e3, "cpu_ms": best_cpu * 1e3}))


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


def run_one(lib, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_THREADS"):
        env[var] = str(threads)
    out = subprocess.run([sys.executable, __file__, "--worker", lib], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"{lib} failed:\n{out.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["ms"], r["cpu_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", metavar="LIB")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.profile:
        profile()
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; LeNet-5 training step, batch {BATCH}, float32; "
          f"each number: median over {args.rounds} interleaved rounds of a fresh process's best-of-3 mean step time")
    print("(wall = elapsed time, the number that counts; cpu = process CPU time, summed over threads, a steadier "
          "guide when the machine is shared)")
    print(f"{'threads':>7} {'chainrule ms':>13} {'torch ms':>9} {'cr/torch':>9} {'cpu ratio':>10}   (wall ratios per round)")
    for threads in args.threads:
        times = {lib: [] for lib in LIBS}
        cpu = {lib: [] for lib in LIBS}
        for _ in range(args.rounds):
            for lib in LIBS:
                t = run_one(lib, threads)
                if t is not None:
                    times[lib].append(t[0])
                    cpu[lib].append(t[1])
        med = {lib: statistics.median(v) if v else float("nan") for lib, v in times.items()}
        med_cpu = {lib: statistics.median(v) if v else float("nan") for lib, v in cpu.items()}
        ratios = [c / t for c, t in zip(times["chainrule"], times["torch"])]
        print(f"{threads:7d} {med['chainrule']:13.2f} {med['torch']:9.2f} {med['chainrule'] / med['torch']:9.2f} "
              f"{med_cpu['chainrule'] / med_cpu['torch']:10.2f}   ({', '.join(f'{r:.2f}' for r in ratios)})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
