"""What a hand-off to chainrule's thread pool costs after the worker has idled for a while.

    PYTHONPATH=src python benchmarks/pool_wake.py

A no-op ``_parallel.map_blocks`` round trip (2 threads), 200 times per idle period, the main thread busy
in Python in between (as in a training step). On a VM an idle vCPU halts and waking it is slow; PyTorch's
OpenMP threads spin between parallel regions instead. Results: benchmarks/RESULTS.md, issue 10.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
from chainrule import _parallel  # noqa: E402


def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main():
    _parallel.set_threads(2)
    for idle in (0, 100e-6, 1e-3, 5e-3, 20e-3):
        times = []
        for _ in range(200):
            _busy(idle)
            t = time.perf_counter()
            _parallel.map_blocks(lambda a, b: None, 2)
            times.append(time.perf_counter() - t)
        times.sort()
        print(f"worker idle {idle * 1e6:7.0f} us before: round trip median {times[100] * 1e6:6.1f} us, "
              f"p90 {times[180] * 1e6:6.1f} us")


if __name__ == "__main__":
    main()
