"""``set_num_threads`` / ``get_num_threads``: the number of threads chainrule's BLAS (NumPy's) uses.

NumPy offers no call for this; the ``threadpoolctl`` package does (it changes the thread pool of the BLAS
library NumPy loaded, at run time). Without it, ``set_num_threads`` raises with the two ways to get the
same effect, rather than silently doing nothing."""

__all__ = ["set_num_threads", "get_num_threads"]

_limits = None          # the active threadpoolctl limit (kept so it stays in force)


def _blas_pools():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(n):
    """Use ``n`` threads in NumPy's BLAS (matrix products, convolutions) from now on."""
    global _limits
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    tpc = _blas_pools()
    if tpc is None:
        raise RuntimeError("set_num_threads needs the threadpoolctl package to change NumPy's BLAS threads at run "
                           "time: pip install threadpoolctl - or set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS "
                           "before Python starts")
    _limits = tpc.threadpool_limits(limits=n, user_api="blas")


def get_num_threads():
    """The threads NumPy's BLAS uses (1 when it cannot be told)."""
    tpc = _blas_pools()
    if tpc is None:
        import os
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            if os.environ.get(var, "").isdigit():
                return int(os.environ[var])
        return os.cpu_count() or 1
    pools = [p for p in tpc.threadpool_info() if p.get("user_api") == "blas"]
    return pools[0]["num_threads"] if pools else 1
