"""Shared benchmark harness: every (library, case, threads) measurement in its own fresh process.

A benchmark script defines ``CASES = {name: (description, iterations)}`` and
``make_step(lib, case) -> step()`` and ends with ``run(__file__, CASES, make_step)``. Run it as a script:

    python benchmarks/<name>.py [--threads 1 2] [--rounds 5] [--cases a b] [--libs chainrule torch]

Why fresh processes, interleaved: NumPy timed after torch in one process is flattered (allocator and
cache state), and machine noise drifts over time, so each round runs every library once, one after the
other, and the median over rounds is reported. Threads are pinned through the BLAS/OpenMP environment
variables before anything is imported, and ``torch.set_num_threads`` for torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_THREADS")


def import_lib(lib):
    """The module for ``lib`` ('chainrule' or 'torch'), torch pinned to the benchmark's thread count."""
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        return torch
    import chainrule
    return chainrule


def _time_worker(make_step, lib, case, iters):
    step = make_step(lib, case)
    for _ in range(max(3, iters // 10)):          # warm-up (allocator, caches, lazy imports)
        step()
    best = best_cpu = float("inf")
    for _ in range(3):                             # best of 3 blocks within the process
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            step()
        best = min(best, (time.perf_counter() - t0) / iters)
        best_cpu = min(best_cpu, (time.process_time() - c0) / iters)
    print(json.dumps({"us": best * 1e6, "cpu_us": best_cpu * 1e6}))


def measure(script, lib, case, threads, worker_flag="--worker"):
    """Run ``script worker_flag lib case`` in a fresh process pinned to ``threads``; its last stdout line
    (JSON) as a dict, or None when torch is not installed."""
    env = dict(os.environ)
    for var in _THREAD_VARS:
        env[var] = str(threads)
    out = subprocess.run([sys.executable, script, worker_flag, lib, case], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        if "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"{lib}/{case} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_one(script, lib, case, threads):
    r = measure(script, lib, case, threads)
    return None if r is None else (r["us"], r["cpu_us"])


def run(script, cases, make_step, libs=("chainrule", "torch"), title="", baseline="torch"):
    """``baseline``: the library the ratio columns divide by (PyTorch by default)."""
    ap = argparse.ArgumentParser(description=title)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", nargs="*", default=list(cases))
    ap.add_argument("--libs", nargs="*", default=list(libs))
    ap.add_argument("--cpu", action="store_true",
                    help="also print the ratio of CPU time (summed over threads): steadier on a shared machine")
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "CASE"))
    args = ap.parse_args()
    if args.worker:
        lib, case = args.worker
        _time_worker(make_step, lib, case, cases[case][1])
        return
    libs = args.libs
    print(f"{title}\npython {sys.version.split()[0]}, {os.cpu_count()} cpus; each number: median over "
          f"{args.rounds} interleaved rounds of a fresh process's best-of-3 mean step time (microseconds)")
    for threads in args.threads:
        print(f"\n== {threads} thread(s) ==")
        header = f"{'case':12}" + "".join(f"{lib + ' us':>14}" for lib in libs)
        if baseline in libs:
            header += "".join(f"{lib[:9] + '/' + baseline[:6]:>16}" for lib in libs if lib != baseline)
        print(header)
        for case in args.cases:
            times = {lib: [] for lib in libs}
            cpu = {lib: [] for lib in libs}
            for _ in range(args.rounds):
                for lib in libs:
                    t = _run_one(script, lib, case, threads)
                    if t is not None:
                        times[lib].append(t[0])
                        cpu[lib].append(t[1])
            med = {lib: statistics.median(v) if v else float("nan") for lib, v in times.items()}
            med_cpu = {lib: statistics.median(v) if v else float("nan") for lib, v in cpu.items()}
            line = f"{case:12}" + "".join(f"{med[lib]:14.1f}" for lib in libs)
            if baseline in libs:
                line += "".join(f"{med[lib] / med[baseline]:16.3f}" for lib in libs if lib != baseline)
                if args.cpu:
                    line += "".join(f"  cpu {med_cpu[lib] / med_cpu[baseline]:.3f}" for lib in libs
                                    if lib != baseline)
            print(f"{line}   ({cases[case][0]})")
            sys.stdout.flush()
