"""The second core: large elementwise ufuncs, reductions and copies split across a small thread pool.

NumPy runs a ufunc, a reduction or a copy on one core, but it releases the GIL inside them; so a large call
cut into row blocks, each block done by one thread of a persistent pool, uses every core. Each block is
the same NumPy call on a slice of the operands, so the result is BIT-IDENTICAL to the single-thread call:

* elementwise ufuncs: every output element is computed from the same inputs by the same loop;
* reductions are split only along an axis that is NOT reduced (``reduce_rows``): each output element is
  still summed by one NumPy call, in the same order (NumPy's pairwise summation runs along the reduced
  axis, which no block cuts);
* copies are copies.

API (all no-ops - a direct NumPy call, no pool, no extra work - when the pool has 1 thread or the
array is below the threshold):

    threads()                        the pool's size (= chainrule.get_num_threads(), OMP_NUM_THREADS honoured)
    set_threads(n)                   resize (chainrule.set_num_threads calls it)
    ufunc(f, *inputs, out=...)       f(*inputs, out=out), split along axis 0 of ``out``; inputs broadcast
                                     against ``out`` (scalars and size-1 leading dims are fine)
    copyto(dst, src)                 np.copyto(dst, src) split along axis 0 of dst (src may be any view)
    reduce_rows(f, x, axis, out=...) f(x, axis=axis, out=out) split along the leading kept axis
    map_blocks(fn, n)                fn(start, stop) for row blocks covering range(n), one per thread
                                     (the building block: your own kernel on disjoint output rows)

Thresholds (elements per call; below them a call is one plain NumPy call): ``MIN_ELEMENTS`` for one
ufunc or reduction, ``MIN_COPY`` for copies, ``MIN_BLOCKWISE`` for compound kernels (``blockwise``: a
dozen passes per block) and ``MIN_TRANSCENDENTAL`` for exp/tanh (``transcendental``: NumPy computes them
without SIMD on CPUs lacking AVX-512, 2-3 ns per float32 element, so the hand-off - ~10 µs with the
lock-based workers below - is paid back early). The speedup of 2 threads over 1 with the gates off
(``OMP_NUM_THREADS=1 PYTHONPATH=src python -m chainrule._parallel``: (64, n/64) float32 operands, median of
100 calls), on this project's 2-core AMD EPYC (AVX2), idle, 2026-12-06 (runs vary by ±0.3x at 64-256 k):

    elements   np.add(out=)   copy of a transposed view   np.sum(axis=-1)   blockwise GELU Φ(x)   np.exp
    16 k       0.17x          0.40x                       0.24x             0.38x                 0.97x
    64 k       0.42x          1.01x                       0.48x             0.64x                 1.56x
    128 k      0.70x          1.38x                       0.73x             1.51x (0.85x-1.16x)   1.68x
    256 k      0.81x          1.77x                       1.16x             1.49x                 1.79x
    512 k      0.84x          1.84x                       1.31x             1.69x                 1.91x
    1 M        1.48x          1.93x                       1.57x             1.90x                 1.96x
    4 M        1.25x          1.85x                       1.88x             1.44x                 1.84x

(The same script on a loaded machine - load 4-6 on 2 cores - never clearly paid below 4 M.) Gates from
that table: 1 M for a single ufunc or reduction, 128 k for copies, 256 k for compound kernels (other runs
gave 0.85x-1.16x at 128 k), 64 k for exp/tanh. Every split path is tested bit-identical to the single call
(tests/test_parallel.py).
"""
import os
import threading
import time

import numpy as np

__all__ = ["threads", "set_threads", "ufunc", "copyto", "reduce_rows", "map_blocks", "blockwise", "MIN_ELEMENTS",
           "MIN_COPY", "MIN_BLOCKWISE", "transcendental", "MIN_TRANSCENDENTAL"]

MIN_ELEMENTS = 1 << 20          # 1 M: one ufunc / reduction (see the table above)
MIN_COPY = 1 << 17              # 128 k: copies (im2col, transposes)
MIN_BLOCKWISE = 1 << 18         # 256 k: compound kernels (``blockwise``)
MIN_TRANSCENDENTAL = 1 << 16    # 64 k: exp / tanh (``transcendental``)

_pool = None                    # the worker threads (a list of _Worker), or None for 1 thread / not started
_size = None                    # pool size, decided lazily from the environment
_lock = threading.Lock()        # guards creating / replacing the pool
_busy = threading.Lock()        # held while a split call uses the pool: another thread's call runs inline
_PREFIX = "chainrule-pool"


class _Worker:
    """One persistent thread handed one job at a time through two locks: ~10 µs per hand-off and wait on
    the project's machine, against ~24 µs for ThreadPoolExecutor.submit().result() (futures, a queue and a
    condition variable) - which moves every gate below down."""
    __slots__ = ("go", "done", "job", "error", "thread")

    def __init__(self, name):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job = self.error = None
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            self.go.acquire()
            job = self.job
            if job is None:                     # stop()
                return
            try:
                job()
            except BaseException as exc:        # handed to the caller by result()
                self.error = exc
            self.done.release()

    def submit(self, job):
        self.job = job
        self.go.release()

    def result(self):
        self.done.acquire()
        self.job = None
        error, self.error = self.error, None
        if error is not None:
            raise error

    def stop(self):
        self.job = None
        self.go.release()
        self.thread.join()


def _default_threads():
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:      # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def threads():
    """The number of threads large NumPy calls are split across (1 = no pool)."""
    global _size
    if _size is None:
        _size = _default_threads()
    return _size


def set_threads(n):
    """Use ``n`` threads from now on (1 shuts the pool down)."""
    global _pool, _size
    n = int(n)
    if n < 1:
        raise ValueError(f"set_threads: expected a positive number of threads, got {n}")
    with _busy, _lock:                          # (waits for a split call in flight)
        old, _pool, _size = _pool, None, n
        for w in old or ():
            w.stop()


def _workers():
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = [_Worker(f"{_PREFIX}-{i}") for i in range(threads() - 1)]
    return _pool


def _bounds(n, parts):
    step = -(-n // parts)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def map_blocks(fn, n):
    """Run fn(start, stop) over row blocks covering range(n): one block per thread, the first on the
    calling thread. fn must write disjoint outputs. Exceptions propagate. Inside a pool thread (a block
    splitting again), or while another thread's call holds the pool, it runs inline: no waiting on it."""
    t = threads()
    if t == 1 or n < 2 or threading.current_thread().name.startswith(_PREFIX) or not _busy.acquire(False):
        fn(0, n)
        return
    try:
        blocks = _bounds(n, min(t, n))
        used = []
        for w, (a, b) in zip(_workers(), blocks[1:]):
            w.submit(lambda a=a, b=b: fn(a, b))
            used.append(w)
        try:
            fn(*blocks[0])
        finally:
            errors = []
            for w in used:
                try:
                    w.result()
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
    finally:
        _busy.release()


def blockwise(kernel, *arrays, min_elements=None):
    """``kernel(*arrays, out)`` for an elementwise kernel over same-shape arrays (several NumPy passes
    writing into ``out``), into a new array of the first one's shape and dtype. From ``min_elements``
    (default ``MIN_BLOCKWISE``) the flat range is cut into one block per thread: elementwise, so the
    result is bit-identical to one call. A compound kernel pays for the hand-off far sooner than one
    ufunc does (a dozen passes per block instead of one)."""
    first = arrays[0]
    out = np.empty(first.shape, first.dtype)
    gate = MIN_BLOCKWISE if min_elements is None else min_elements
    if first.size < gate or threads() == 1 or first.size < 2:
        kernel(*arrays, out)
        return out
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    dst = out.reshape(-1)

    def block(a, b):
        kernel(*[f[a:b] for f in flat], dst[a:b])
    map_blocks(block, dst.size)
    return out


def transcendental(f, x, out=None):
    """``f(x, out=out)`` for a costly ufunc (exp, tanh: NumPy runs them at 2-3 ns per float32 element
    where it has no AVX-512 kernel), split from ``MIN_TRANSCENDENTAL`` elements. ``out`` defaults to a
    new array like x; x must match ``out``'s shape (no broadcasting)."""
    if out is None:
        out = np.empty(x.shape, x.dtype)
    if out.size < MIN_TRANSCENDENTAL or threads() == 1 or not (x.flags.c_contiguous and out.flags.c_contiguous):
        return f(x, out=out)
    src, dst = x.reshape(-1), out.reshape(-1)  # (views: both are C-contiguous)

    def block(a, b):
        f(src[a:b], out=dst[a:b])
    map_blocks(block, dst.size)
    return out


def _worth_it(out, gate):
    return threads() > 1 and out.size >= gate and out.ndim >= 1 and out.shape[0] >= 2


def _rows(a, out, start, stop):
    """The rows [start, stop) of ``a`` broadcast against ``out`` (scalars / broadcast dims pass through)."""
    if not isinstance(a, np.ndarray) or a.ndim < out.ndim or a.shape[0] == 1:
        return a
    return a[start:stop]


def ufunc(f, *inputs, out, gate=None, **kwargs):
    """f(*inputs, out=out, **kwargs), split along axis 0 of ``out`` when large (``gate`` elements; default
    ``MIN_ELEMENTS``). Returns ``out``."""
    if not _worth_it(out, MIN_ELEMENTS if gate is None else gate):
        return f(*inputs, out=out, **kwargs)

    def block(a, b):
        f(*(_rows(x, out, a, b) for x in inputs), out=out[a:b],
          **{k: _rows(v, out, a, b) for k, v in kwargs.items()})      # e.g. where= is cut like an input
    map_blocks(block, out.shape[0])
    return out


def copyto(dst, src):
    """np.copyto(dst, src), split along axis 0 of ``dst`` when large."""
    if not _worth_it(dst, MIN_COPY):
        np.copyto(dst, src)
        return dst

    def block(a, b):
        np.copyto(dst[a:b], _rows(src, dst, a, b))
    map_blocks(block, dst.shape[0])
    return dst


def reduce_rows(f, x, axis, out):
    """f(x, axis=axis, out=out) (e.g. np.sum, np.max) split along the first axis of ``x`` that is not
    reduced - so each output element is still reduced by one call, in the same order: bit-identical.
    ``out`` has the kept dims only (keepdims=False). Falls back to one call when axis 0 is reduced."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(a % x.ndim for a in axes)
    if 0 in axes or threads() == 1 or x.size < MIN_ELEMENTS or x.shape[0] < 2:
        return f(x, axis=axis, out=out)

    def block(a, b):
        f(x[a:b], axis=axis, out=out[a:b])
    map_blocks(block, x.shape[0])
    return out


def _measure(sizes=(1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 22), calls=100):
    """Print the table of the module docstring for this machine: 2-thread speedup, gates off."""
    from .ops.unary import _normal_cdf_float32   # GELU's Φ(x), a compound kernel; unary imports _parallel: a cycle
    global MIN_ELEMENTS, MIN_COPY, MIN_BLOCKWISE, MIN_TRANSCENDENTAL
    gates = MIN_ELEMENTS, MIN_COPY, MIN_BLOCKWISE, MIN_TRANSCENDENTAL
    MIN_ELEMENTS = MIN_COPY = MIN_BLOCKWISE = MIN_TRANSCENDENTAL = 0

    def median_us(f):
        ts = []
        for _ in range(calls):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return sorted(ts)[calls // 2] * 1e6
    print("elements   np.add(out=)   copy of a transposed view   np.sum(axis=-1)   blockwise GELU Φ(x)   np.exp")
    try:
        for n in sizes:
            a = np.random.rand(64, n // 64).astype(np.float32)
            b, c = np.random.rand(64, n // 64).astype(np.float32), np.empty_like(a)
            src, r = np.random.rand(n // 64, 64).astype(np.float32).T, np.empty(64, np.float32)
            row = []
            for f in (lambda: ufunc(np.add, a, b, out=c), lambda: copyto(c, src),
                      lambda: reduce_rows(np.sum, a, -1, r), lambda: blockwise(_normal_cdf_float32, a),
                      lambda: transcendental(np.exp, a, out=c)):
                set_threads(1)
                t1 = median_us(f)
                set_threads(2)
                f()
                row.append(t1 / median_us(f))
            print(f"{n >> 10:>5} k   " + "   ".join(f"{x:.2f}x" for x in row))
    finally:
        MIN_ELEMENTS, MIN_COPY, MIN_BLOCKWISE, MIN_TRANSCENDENTAL = gates
        set_threads(_default_threads())


if __name__ == "__main__":
    _measure()
