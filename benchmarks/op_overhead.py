"""Per-op overhead and a small MLP training step: chainrule vs PyTorch (vs hand-written NumPy).

Each (library, case, threads) measurement runs in its own fresh Python process, and the processes are
interleaved round by round, so neither library is flattered by running second in a warm process or by
machine noise that drifts over time. Thread counts are pinned through the BLAS/OpenMP environment
variables (and torch.set_num_threads) before anything is imported.

    python benchmarks/op_overhead.py                 # threads 1 and 2, 5 rounds
    python benchmarks/op_overhead.py --threads 1 --rounds 3
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
    "expr1": ("fwd+bwd of (a*b + c).tanh().sum(), shape (1,), 5 ops", 10000),
    "expr100": ("fwd+bwd of (a*b + c).tanh().sum(), shape (100,), 5 ops", 10000),
    "mlp64": ("MLP 784-200-10 step, batch 64: fwd, cross-entropy, bwd, SGD update", 500),
}
LIBS = ("chainrule", "torch", "numpy")


# ------------------------------------------------------------------------------------------- workers
def _expr_case(lib, n, iters):
    import numpy as np
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    if lib == "numpy":
        a, b, c = arrs

        def step():
            s = a * b + c
            t = np.tanh(s)
            _ = t.sum()
            g = 1 - t * t           # d tanh; the sum's gradient is ones
            return g * b, g * a, g
    else:
        mod = _import(lib)
        a, b, c = (mod.tensor(x, requires_grad=True) for x in arrs)

        def step():
            a.grad = b.grad = c.grad = None
            (a * b + c).tanh().sum().backward()
    return step, iters


def _mlp_case(lib, iters):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    w1 = (rng.standard_normal((784, 200)) * 0.05).astype(np.float32)
    b1 = np.zeros(200, np.float32)
    w2 = (rng.standard_normal((200, 10)) * 0.05).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    lr = 0.01
    if lib == "numpy":
        params = [w1, b1, w2, b2]
        rows = np.arange(64)

        def step():
            h_pre = x @ w1 + b1
            h = np.maximum(h_pre, 0)
            logits = h @ w2 + b2
            z = logits - logits.max(1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(1, keepdims=True)
            _ = -np.log(p[rows, y]).mean()
            d = p
            d[rows, y] -= 1
            d /= 64
            gw2, gb2 = h.T @ d, d.sum(0)
            dh = (d @ w2.T) * (h_pre > 0)
            gw1, gb1 = x.T @ dh, dh.sum(0)
            for p_, g in zip(params, (gw1, gb1, gw2, gb2)):
                p_ -= lr * g
        return step, iters
    mod = _import(lib)
    xt, yt = mod.tensor(x), mod.tensor(y)
    params = [mod.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
    W1, B1, W2, B2 = params
    if lib == "torch":
        import torch.nn.functional as F

        def loss_fn(logits):
            return F.cross_entropy(logits, yt)
    else:
        rows = mod.arange(64)

        def loss_fn(logits):
            return -logits.log_softmax(1)[rows, yt].mean()

    def step():
        logits = (xt @ W1 + B1).relu() @ W2 + B2
        loss = loss_fn(logits)
        for p in params:
            p.grad = None
        loss.backward()
        with mod.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)
    return step, iters


def _import(lib):
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
        return torch
    import chainrule
    return chainrule


def worker(lib, case, threads):
    if case == "mlp64":
        step, iters = _mlp_case(lib, CASES[case][1])
    else:
        step, iters = _expr_case(lib, 1 if case == "expr1" else 100, CASES[case][1])
    for _ in range(max(10, iters // 20)):          # warm-up
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
        print(f"{'case':9} {'chainrule us':>13} {'torch us':>10} {'numpy us':>10} {'cr/torch':>9} {'np/torch':>9}")
        for case in args.cases:
            times = {lib: [] for lib in LIBS}
            libs = LIBS if case == "mlp64" or case.startswith("expr") else LIBS[:2]
            for _ in range(args.rounds):
                for lib in libs:
                    t = run_one(lib, case, threads)
                    if t is not None:
                        times[lib].append(t)
            med = {lib: statistics.median(v) if v else float("nan") for lib, v in times.items()}
            print(f"{case:9} {med['chainrule']:13.1f} {med['torch']:10.1f} {med['numpy']:10.1f} "
                  f"{med['chainrule'] / med['torch']:9.2f} {med['numpy'] / med['torch']:9.2f}   "
                  f"({CASES[case][0]})")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
