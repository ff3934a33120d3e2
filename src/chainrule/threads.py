"""``set_num_threads`` / ``get_num_threads``: the threads chainrule uses - NumPy's BLAS (matrix products,
convolutions) and chainrule's own pool for large elementwise calls and copies (``chainrule._parallel``).

NumPy offers no call to change its BLAS threads; the ``threadpoolctl`` package does (it changes the thread
pool of the BLAS library NumPy loaded, at run time). Without it, ``set_num_threads`` raises with the two
ways to get the same effect, rather than silently doing nothing."""
from . import _parallel

__all__ = ["set_num_threads", "get_num_threads"]

_limits = None          # the active threadpoolctl limit (kept so it stays in force)


def _blas_pools():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(n):
    """Use ``n`` threads from now on: in NumPy's BLAS and in chainrule's pool (``chainrule._parallel``)."""
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
    _parallel.set_threads(n)


def get_num_threads():
    """The threads NumPy's BLAS uses (chainrule's pool follows it; 1 when it cannot be told)."""
    tpc = _blas_pools()
    if tpc is None:
        return _parallel.threads()
    pools = [p for p in tpc.threadpool_info() if p.get("user_api") == "blas"]
    return pools[0]["num_threads"] if pools else 1
