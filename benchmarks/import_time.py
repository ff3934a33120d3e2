"""Import cost: wall time and peak RSS of `python -c "import X"` in fresh processes, interleaved.

    PYTHONPATH=src python benchmarks/import_time.py --rounds 10 [--modules numpy chainrule]

Each round starts one fresh interpreter per module, in turn, and records its wall time (start to exit) and
peak resident memory (``os.wait4``'s ru_maxrss). Prints the median and the ratio to the first module.
Bytecode is cached (as in an installed package) under a private ``PYTHONPYCACHEPREFIX``, written by one
warm-up import per module before timing, so the source tree is not touched and compiling is not timed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "chainrule_import_time_pycache")


def one_run(module):
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", f"import {module}"], env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"import {module} failed (status {status})")
    cpu = usage.ru_utime + usage.ru_stime                 # less disturbed than wall on a loaded machine
    return wall * 1e3, cpu * 1e3, usage.ru_maxrss / 1024  # ms, ms, MiB (ru_maxrss is in KiB on Linux)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--modules", nargs="+", default=["numpy", "chainrule"])
    args = parser.parse_args()
    results = {m: [] for m in args.modules}
    for m in args.modules:
        one_run(m)                                       # warm-up: writes the bytecode cache
    for _ in range(args.rounds):
        for m in args.modules:
            results[m].append(one_run(m))
    first = results[args.modules[0]]
    base_wall, base_cpu = statistics.median(r[0] for r in first), statistics.median(r[1] for r in first)
    print(f"medians of {args.rounds} fresh processes each; ratios to {args.modules[0]}")
    print(f"{'module':<12} {'wall ms':>9} {'CPU ms':>9} {'peak RSS MiB':>13} {'wall ratio':>11} {'CPU ratio':>10}")
    for m, runs in results.items():
        wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{m:<12} {wall:>9.1f} {cpu:>9.1f} {rss:>13.1f} {wall / base_wall:>11.2f} {cpu / base_cpu:>10.2f}")


if __name__ == "__main__":
    main()
