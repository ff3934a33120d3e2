"""Let OpenBLAS's idle worker threads sleep ~0.1 ms after a product instead of spinning for ~0.1 s.

After every multithreaded call, an OpenBLAS worker thread busy-waits for the next one for 2^28 cycles
(~0.1 s) before it sleeps. A training step interleaves matrix products with NumPy's elementwise passes,
so that spinning thread holds a core all step long: on 2 cores it takes the core chainrule's own pool
(``_parallel``) splits large elementwise calls onto, and NumPy's passes slow down beside it (measured:
a 2-thread GPT step used 2.0 CPU-seconds per second of wall time). ``OPENBLAS_THREAD_TIMEOUT`` shortens
the wait, but OpenBLAS reads it only when it is loaded - by ``import numpy``, before chainrule runs. So this module
sets it and restarts OpenBLAS's thread server, through the library's own entry points
(``openblas_read_env``, ``blas_thread_shutdown_``, ``blas_thread_init``: the path its fork handler takes).
Measured in benchmarks/RESULTS.md (issue 10).

Applied once at import, only on Linux, only to a pthreads OpenBLAS (an OpenMP build has no such server),
only while the importing process runs a single Python thread (another one could be inside a BLAS call: a
Jupyter kernel's threads, for one, keep the default), and only if the user has not set
``OPENBLAS_THREAD_TIMEOUT`` themselves; ``CHAINRULE_BLAS_TUNING=0`` opts out.
"""
import ctypes
import os
import sys
import threading

# Wait 2^18 cycles (~0.1 ms) before sleeping: long enough to stay awake between the back-to-back products of
# a small MLP (an immediate sleep, 2^4, made a 2-thread MLP+Adam step 10-14 % slower: each product paid a
# wake-up), short enough to sleep through a transformer's elementwise phases. OpenBLAS clamps to [4, 30].
TIMEOUT_EXPONENT = 18

applied = []                    # paths of the libraries whose thread server was restarted


def _loaded_openblas():
    """Paths of the OpenBLAS shared libraries mapped into this process (NumPy's wheel bundles one)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return []
    paths = []
    for line in maps.splitlines():
        path = line.rpartition(" ")[2]
        if "openblas" in os.path.basename(path).lower() and ".so" in path and path not in paths:
            paths.append(path)
    return paths


def _threading_model(lib):
    """``openblas_get_parallel()``: 0 sequential, 1 pthreads, 2 OpenMP (NumPy's and SciPy's wheels export it
    with a ``scipy_`` prefix and a ``64_`` suffix); None when the library does not say."""
    for name in ("openblas_get_parallel", "openblas_get_parallel64_", "scipy_openblas_get_parallel64_",
                 "scipy_openblas_get_parallel"):
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn()
    return None


def quiet_idle_threads():
    """Restart each loaded OpenBLAS's thread server with a short idle wait; returns the libraries done."""
    if applied or os.environ.get("CHAINRULE_BLAS_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return applied
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return applied               # the user chose a wait: OpenBLAS read it when it was loaded
    if threading.active_count() > 1:
        return applied               # another Python thread could be inside a BLAS call: never restart under it
    paths = _loaded_openblas()
    if not paths:
        return applied
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(TIMEOUT_EXPONENT)    # (putenv: the C library sees it)
    try:
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
                read_env, shutdown, init = lib.openblas_read_env, lib.blas_thread_shutdown_, lib.blas_thread_init
            except (OSError, AttributeError):
                continue             # a sequential build, or not OpenBLAS: leave it
            if _threading_model(lib) != 1:
                continue             # 1 = pthreads; an OpenMP build's threads are OpenMP's to manage
            # (with one thread there is no worker yet, but the restart still sets the wait that workers
            # started later - threadpoolctl / chainrule.set_num_threads - will use)
            read_env()
            shutdown()
            init()
            applied.append(path)
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]     # child processes load OpenBLAS with their own defaults
    return applied
