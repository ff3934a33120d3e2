"""The process group: this process's ``rank``, the ``world_size``, and the collectives on ``MPI.COMM_WORLD``.

    import chainrule.distributed as dist
    dist.init()                      # under mpiexec: MPI.COMM_WORLD; a plain `python x.py`: world size 1
    dist.rank(), dist.world_size()
    dist.all_reduce(t, op="sum")     # in place, on a Tensor or a NumPy array
    dist.broadcast(t, src=0); dist.barrier()

Without an MPI launch (or without mpi4py) the same calls work on a world of one process and do nothing,
so one script runs anywhere.

Faults never turn into a silent hang:

* A rank that raises prints its rank and traceback and aborts the whole job (``MPI.COMM_WORLD.Abort``), as
  ``python -m mpi4py`` does: the other ranks, stuck in a collective, are killed within seconds.
* Every collective is nonblocking (``Iallreduce``, ``Ibcast``, ...) and polled against a deadline
  (``timeout`` seconds, default 300, or ``$CHAINRULE_DIST_TIMEOUT``). Before it joins collective number
  k, each rank posts "I reached k" to ranks 0 and 1 (8 bytes each, on a duplicated communicator). When
  the deadline passes, ranks 0 and 1 know who is missing and say so - "rank 3 has not joined allreduce
  #1207 for 60 s" - then the job aborts (``on_timeout="abort"``, default) or keeps waiting and repeats the
  report every ``timeout`` seconds (``on_timeout="warn"``).

Collectives are counted: every rank must call the same ones in the same order (DistributedDataParallel and
SyncBatchNorm guarantee it for theirs). ``comm_stats()`` says how many ran, how many bytes they carried and
how long this rank waited in them.
"""
import os
import sys
import time
import traceback

import numpy as np

from ..tensor import Tensor
from ._mpi import import_mpi, launched_by_mpi

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "all_reduce", "broadcast", "comm_stats",
           "reset_comm_stats", "DistributedError", "DEFAULT_TIMEOUT", "init_process_group", "get_rank",
           "get_world_size", "destroy_process_group"]

DEFAULT_TIMEOUT = 300.0
_TIMEOUT_ENV = "CHAINRULE_DIST_TIMEOUT"
_ARRIVE = 17                 # tag of the roll-call messages
_ROLL_CALLERS = (0, 1)       # the ranks that keep the roll call (two, so one stalled caller is still named)


class DistributedError(RuntimeError):
    """A distributed job is inconsistent: mismatched models, replicas that drifted apart, bad arguments."""


class _Single:
    """World size 1: every collective returns its input unchanged."""
    rank, size = 0, 1

    def __init__(self, timeout, on_timeout):
        self.timeout, self.on_timeout = timeout, on_timeout
        self.stats = _new_stats()

    def allreduce(self, arr, op="sum", name="allreduce"):
        return arr

    def bcast(self, arr, root=0, name="broadcast"):
        return arr

    def barrier(self):
        pass

    def allgather_bytes(self, data, name="allgather"):
        return [bytes(data)]

    def bcast_bytes(self, data, root=0, name="broadcast"):
        return bytes(data)


class _MPIWorld:
    """MPI.COMM_WORLD with counted, deadline-polled nonblocking collectives and a roll call on ranks 0/1."""

    def __init__(self, MPI, timeout, on_timeout):
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout, self.on_timeout = timeout, on_timeout
        self.rollcall = self.comm.Dup()          # arrivals never mix with collectives or user messages
        self.count = 0                           # collectives started so far (the same on every rank)
        self.callers = [r for r in _ROLL_CALLERS if r < self.size and r != self.rank]
        self.arrived = np.zeros(self.size, np.int64)     # roll callers: latest collective each rank reached
        self._recv = np.zeros(1, np.int64)
        self._sends = []
        self.stats = _new_stats()
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}

    # ------------------------------------------------------------------ the collectives
    def allreduce(self, arr, op="sum", name="allreduce"):
        mpi_op = self._ops[op]
        return self._run(name, arr.nbytes, lambda: self.comm.Iallreduce(self.MPI.IN_PLACE, arr, mpi_op), arr)

    def bcast(self, arr, root=0, name="broadcast"):
        return self._run(name, arr.nbytes, lambda: self.comm.Ibcast(arr, root=root), arr)

    def barrier(self):
        self._run("barrier", 0, self.comm.Ibarrier, None)

    def allgather_bytes(self, data, name="allgather"):
        """Every rank's ``data`` (bytes), in rank order."""
        mine = np.frombuffer(bytes(data), np.uint8)
        sizes = np.zeros(self.size, np.int64)
        self._run(name, 8 * self.size, lambda: self.comm.Iallgather(np.array([mine.size], np.int64), sizes), None)
        out = np.zeros(int(sizes.sum()), np.uint8)
        self._run(name, out.nbytes, lambda: self.comm.Iallgatherv(mine, [out, sizes.tolist()]), None)
        ends = np.cumsum(sizes)
        return [out[e - s:e].tobytes() for s, e in zip(sizes, ends)]

    def bcast_bytes(self, data, root=0, name="broadcast"):
        n = np.array([len(data) if self.rank == root else 0], np.int64)
        self.bcast(n, root, name)
        buf = np.frombuffer(bytes(data), np.uint8).copy() if self.rank == root else np.zeros(int(n[0]), np.uint8)
        self.bcast(buf, root, name)
        return buf.tobytes()

    # ------------------------------------------------------------------ counting, roll call, deadline
    def _run(self, name, nbytes, start, result):
        self.count += 1
        self._announce(self.count)
        t0 = time.perf_counter()
        self._wait(start(), name, self.count, t0)
        st = self.stats
        st["calls"] += 1
        st["bytes"] += nbytes
        st["seconds"] += time.perf_counter() - t0
        return result

    def _announce(self, k):
        """Tell the roll callers that this rank reached collective number k."""
        if self._sends and self.MPI.Request.Testall([r for r, _ in self._sends]):
            self._sends.clear()
        if self.callers:
            note = np.array([k], np.int64)
            for dest in self.callers:
                self._sends.append((self.rollcall.Isend(note, dest, tag=_ARRIVE), note))
        if self.rank in _ROLL_CALLERS:
            self._drain()

    def _drain(self):
        status = self.MPI.Status()
        while self.rollcall.Iprobe(self.MPI.ANY_SOURCE, _ARRIVE, status):
            src = status.Get_source()
            self.rollcall.Recv(self._recv, src, _ARRIVE)
            self.arrived[src] = max(self.arrived[src], self._recv[0])

    def _wait(self, req, name, k, t0):
        """Poll ``req`` until it completes; past the deadline, name the ranks that have not joined."""
        deadline, pause, polls, reports = t0 + self.timeout, 0.0, 0, 0
        while not req.Test():
            polls += 1
            if polls > 50:                       # short waits spin; long ones sleep (2 cores are shared)
                time.sleep(pause)
                pause = min(2 * pause or 2e-5, 2e-4)
            now = time.perf_counter()
            if now >= deadline:
                reports += 1
                self._stalled(name, k, now - t0, final=reports > 1 or self.rank in _ROLL_CALLERS)
                deadline = now + (self.timeout if self.on_timeout == "warn" else min(self.timeout, 5.0))

    def _stalled(self, name, k, waited, final):
        if self.rank in _ROLL_CALLERS:
            self._drain()
            missing = [r for r in range(self.size) if r != self.rank and self.arrived[r] < k]
            if missing:
                who = "rank " + str(missing[0]) if len(missing) == 1 else "ranks " + ", ".join(map(str, missing))
                what = f"{who} {'has' if len(missing) == 1 else 'have'} not joined {name} #{k} for {waited:.0f} s"
            else:
                what = f"every rank joined {name} #{k}, but it has not completed for {waited:.0f} s"
        else:
            what = (f"{name} #{k} has not completed for {waited:.0f} s: a rank has not joined it "
                    f"(ranks 0 and 1 keep the roll call and name it)")
        msg = (f"chainrule.distributed: rank {self.rank} of {self.size}: {what} (timeout {self.timeout:g} s; "
               f"change it with init(timeout=...) or ${_TIMEOUT_ENV})")
        sys.stdout.flush()
        print(msg, file=sys.stderr, flush=True)
        if self.on_timeout == "abort" and final:
            print(f"chainrule.distributed: rank {self.rank}: aborting the job", file=sys.stderr, flush=True)
            _abort(self.comm)


def _new_stats():
    return {"calls": 0, "bytes": 0, "seconds": 0.0}


_world = None


def init(timeout=None, *, on_timeout="abort"):
    """Join the job: ``MPI.COMM_WORLD`` under an MPI launcher, else a world of one process (no mpi4py needed).

    ``timeout``: seconds a collective may wait for a missing rank before it is named (default
    ``$CHAINRULE_DIST_TIMEOUT`` or 300). ``on_timeout``: ``"abort"`` the job after naming it, or ``"warn"``
    and keep waiting. Calling ``init`` again only updates these two settings."""
    global _world
    if on_timeout not in ("abort", "warn"):
        raise ValueError(f"init: on_timeout must be 'abort' or 'warn', got {on_timeout!r}")
    if timeout is None:
        timeout = float(os.environ.get(_TIMEOUT_ENV, DEFAULT_TIMEOUT))
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"init: timeout must be a positive number of seconds, got {timeout!r}")
    if _world is not None:
        _world.timeout, _world.on_timeout = float(timeout), on_timeout
        return
    if not launched_by_mpi():
        _world = _Single(float(timeout), on_timeout)
        return
    world = _MPIWorld(import_mpi(), float(timeout), on_timeout)
    if world.size > 1:
        _abort_on_uncaught_exception(world)
    _world = world


def _abort(comm):
    """``Abort`` tears down the launcher's output forwarding at once: give it a moment to carry what this
    rank just wrote to stderr (the rank and the reason), or the user sees the job die without a word."""
    time.sleep(0.5)
    comm.Abort(1)


def _abort_on_uncaught_exception(world):
    """An uncaught exception on any rank prints that rank's traceback and aborts every rank."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            sys.stdout.flush()
            sys.stderr.write(f"chainrule.distributed: rank {world.rank} of {world.size} raised "
                             f"{exc_type.__name__}; aborting the job\n{text}")
            sys.stderr.flush()
        finally:
            _abort(world.comm)
        previous(exc_type, exc, tb)              # not reached: Abort ends the process

    sys.excepthook = hook


def _get():
    if _world is None:
        init()
    return _world


def is_initialized():
    """True once ``init()`` ran (explicitly, or through the first distributed call)."""
    return _world is not None


def rank():
    """This process's number, 0 ... world_size() - 1 (0 without MPI)."""
    return _get().rank


def world_size():
    """How many processes train together (1 without MPI)."""
    return _get().size


def barrier():
    """Wait until every rank got here (named after ``timeout`` if one never does)."""
    _get().barrier()


def _array_of(t, what):
    arr = t._data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what}: expected a chainrule Tensor or a NumPy array, got {type(t).__name__}")
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"{what}: the tensor must be contiguous and writable (it is changed in place); "
                         f"pass t.contiguous() / a copy")
    return arr


def all_reduce(tensor, op="sum"):
    """Combine ``tensor`` across ranks, in place: ``op`` is "sum", "mean", "max", "min" or "prod"."""
    arr = _array_of(tensor, "all_reduce")
    if op not in ("sum", "mean", "max", "min", "prod"):
        raise ValueError(f"all_reduce: op must be one of 'sum', 'mean', 'max', 'min', 'prod'; got {op!r}")
    if op == "mean" and arr.dtype.kind != "f":
        raise TypeError(f"all_reduce(op='mean') needs a floating tensor, got {arr.dtype}; use op='sum'")
    w = _get()
    w.allreduce(arr, "sum" if op == "mean" else op)
    if op == "mean" and w.size > 1:
        arr /= w.size
    return tensor


def broadcast(tensor, src=0):
    """Overwrite ``tensor`` on every rank with rank ``src``'s value, in place."""
    arr = _array_of(tensor, "broadcast")
    w = _get()
    if not (isinstance(src, int) and 0 <= src < w.size):
        raise ValueError(f"broadcast: src must be a rank in 0..{w.size - 1}, got {src!r}")
    w.bcast(arr, src)
    return tensor


# PyTorch's names (torch.distributed), for code written against it
def init_process_group(backend="mpi", timeout=None, **kwargs):
    """``torch.distributed.init_process_group``: only the "mpi" backend (MPI.COMM_WORLD under mpiexec).
    ``timeout`` may be seconds or a ``datetime.timedelta``."""
    if backend not in ("mpi", None):
        raise ValueError(f"init_process_group: backend {backend!r} is not available in chainrule; use "
                         f"backend='mpi' and launch with mpiexec (pip install \"chainrule[mpi]\")")
    unknown = set(kwargs) - {"init_method", "world_size", "rank"}
    if unknown:
        raise TypeError(f"init_process_group: unexpected argument(s) {sorted(unknown)}")
    if kwargs.get("init_method") not in (None, "env://"):
        raise ValueError("init_process_group: init_method is not supported; mpiexec sets up the job")
    if hasattr(timeout, "total_seconds"):
        timeout = timeout.total_seconds()
    init(timeout)
    for key, actual in (("world_size", world_size()), ("rank", rank())):
        if kwargs.get(key, -1) not in (-1, actual):
            raise ValueError(f"init_process_group: {key}={kwargs[key]} but mpiexec started this process with "
                             f"{key} {actual}; leave it out")


def get_rank():
    return rank()


def get_world_size():
    return world_size()


def destroy_process_group():
    """Nothing to tear down before exit (mpi4py finalises MPI when the process ends)."""


def comm_stats():
    """{"calls", "bytes", "seconds"}: collectives this rank ran, bytes they carried (per rank, payload
    size), seconds spent waiting in them (includes waiting for slower ranks)."""
    return dict(_get().stats)


def reset_comm_stats():
    _get().stats.update(_new_stats())
