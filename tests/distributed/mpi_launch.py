"""Launching ``mpiexec -n 2`` from a test: find it, run a scenario of mpi_worker.py with a hard timeout."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCH_TIMEOUT = 60          # seconds: a guard so that a hang fails the test instead of stalling CI


def find_mpiexec():
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.access(local, os.X_OK) else shutil.which("mpiexec")


def skip_without_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip('mpi4py is not installed (pip install "chainrule[mpi]"): the mpiexec tests cannot run')
    if find_mpiexec() is None:
        pytest.skip("no mpiexec next to the Python executable or on PATH: the mpiexec tests cannot run")


def mpi_env(extra_path=()):
    """The environment passed on, with this folder and the chainrule being tested (absolute) on PYTHONPATH,
    and one BLAS thread per rank (two ranks on a small machine)."""
    import chainrule
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.abspath(chainrule.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*map(str, extra_path), HERE, src, env.get("PYTHONPATH")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def run_mpiexec(args, n=2, timeout=LAUNCH_TIMEOUT, cwd=None, extra_path=()):
    """``mpiexec -n N python ARGS...``; returns the CompletedProcess (a hang fails the test)."""
    skip_without_mpi()
    cmd = [find_mpiexec(), "-n", str(n), sys.executable, *map(str, args)]
    try:
        return subprocess.run(cmd, env=mpi_env(extra_path), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s (a hang):\n{exc.stderr}")


def run_worker(scenario, out_dir, n=2, timeout=LAUNCH_TIMEOUT):
    """``mpiexec -n N python mpi_worker.py SCENARIO OUT_DIR``."""
    return run_mpiexec([os.path.join(HERE, "mpi_worker.py"), scenario, out_dir], n, timeout)


def run_and_read(scenario, out_dir, n=2):
    """Run a scenario that leaves rank<r>.npz / rank<r>.json; (CompletedProcess, [(arrays, notes)] per rank)."""
    import json

    import numpy as np
    proc = run_worker(scenario, out_dir, n)
    assert proc.returncode == 0, f"mpiexec -n {n} {scenario} failed:\n{proc.stdout}\n{proc.stderr}"
    ranks = []
    for r in range(n):
        with np.load(os.path.join(out_dir, f"rank{r}.npz")) as z:
            arrays = dict(z)
        with open(os.path.join(out_dir, f"rank{r}.json")) as f:
            ranks.append((arrays, json.load(f)))
    return proc, ranks
