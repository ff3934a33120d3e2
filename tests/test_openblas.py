"""chainrule._openblas: OpenBLAS's idle threads sleep instead of spinning, products are unchanged.

Each check runs in a fresh interpreter: OpenBLAS is loaded once per process, with the environment of then.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

PROBE = textwrap.dedent("""
    import json, os, time
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 300)).astype(np.float32)
    b = rng.standard_normal((300, 500)).astype(np.float32)
    before = a @ b                                   # OpenBLAS's threads as NumPy started them
    if os.environ.get("PROBE_BUSY_THREAD"):          # another thread, doing products, while chainrule loads
        import threading
        stop = threading.Event()

        def products():
            while not stop.is_set():
                a @ b
        worker = threading.Thread(target=products)
        worker.start()
    import chainrule
    from chainrule import _openblas
    after = a @ b
    if os.environ.get("PROBE_BUSY_THREAD"):
        stop.set()
        worker.join()
    if os.environ.get("PROBE_RAISE_THREADS"):        # started at 1 thread: raise to 2 at run time
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=2, user_api="blas")
    for _ in range(3):
        a @ b                                        # (leaves the worker threads idle)
    c0 = time.process_time()
    time.sleep(0.25)                                 # the main thread idles: any CPU time is a spinning worker
    idle_cpu = time.process_time() - c0
    print(json.dumps({"applied": _openblas.applied, "same": bool((before == after).all()),
                      "idle_cpu": idle_cpu, "env_left": "OPENBLAS_THREAD_TIMEOUT" in os.environ}))
""")


def _probe(**env):
    full = dict(os.environ, PYTHONPATH=SRC, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    full.pop("OPENBLAS_THREAD_TIMEOUT", None)
    full.pop("CHAINRULE_BLAS_TUNING", None)
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _numpy_uses_pthreads_openblas():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return any(p.get("internal_api") == "openblas" and p.get("threading_layer") == "pthreads"
               for p in threadpool_info())


@pytest.fixture(scope="module")
def tuned():
    if not sys.platform.startswith("linux"):
        pytest.skip("the OpenBLAS thread tuning applies on Linux only")
    r = _probe()
    if not r["applied"]:
        if _numpy_uses_pthreads_openblas():
            pytest.fail("NumPy's BLAS is a pthreads OpenBLAS, yet chainrule did not restart its thread server")
        pytest.skip("NumPy's BLAS here is not a pthreads OpenBLAS (nothing to tune)")
    return r


def test_products_are_bit_identical_after_the_restart(tuned):
    assert tuned["same"]


def test_the_environment_is_left_as_the_user_had_it(tuned):
    assert not tuned["env_left"]


def test_idle_workers_sleep_instead_of_spinning(tuned):
    spinning = _probe(CHAINRULE_BLAS_TUNING="0")
    assert spinning["applied"] == []
    if spinning["idle_cpu"] < 0.05:
        pytest.skip(f"OpenBLAS's default did not spin measurably here ({spinning['idle_cpu']:.3f} CPU-s in a "
                    f"0.25 s sleep): nothing to compare against")
    # default: the worker spins ~2^28 cycles (~0.1 s) after the last product; tuned: ~2^12 cycles (~2 us)
    assert tuned["idle_cpu"] < spinning["idle_cpu"] / 3, (tuned, spinning)


def test_a_users_own_timeout_is_respected():
    r = _probe(OPENBLAS_THREAD_TIMEOUT="20")
    assert r["applied"] == [] and r["same"]


def test_never_restarted_while_another_thread_runs():
    """Another Python thread could be inside a BLAS call: the restart is skipped, products stay right."""
    r = _probe(PROBE_BUSY_THREAD="1")
    assert r["applied"] == [] and r["same"]


def test_opt_out():
    r = _probe(CHAINRULE_BLAS_TUNING="0")
    assert r["applied"] == [] and r["same"]


def test_threads_started_later_are_quiet_too(tuned):
    """Started at 1 thread (no worker yet), raised to 2 with threadpoolctl (as ``set_num_threads`` does):
    the new worker gets the short wait the restart set."""
    pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed (pip install threadpoolctl)")
    one = dict(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PROBE_RAISE_THREADS="1")
    r = _probe(**one)
    assert r["applied"] and r["same"]
    spinning = _probe(CHAINRULE_BLAS_TUNING="0", **one)
    if spinning["idle_cpu"] < 0.05:
        pytest.skip(f"OpenBLAS's default did not spin measurably here ({spinning['idle_cpu']:.3f} CPU-s)")
    assert r["idle_cpu"] < spinning["idle_cpu"] / 3, (r, spinning)
