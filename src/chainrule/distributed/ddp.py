"""DistributedDataParallel: every rank trains a replica on its shard of the batch; gradients are averaged.

    dist.init()
    model = DistributedDataParallel(model)       # rank 0's weights, buffers and seed -> every rank
    for x, y in loader:                          # a DistributedSampler gives each rank its shard
        loss = criterion(model(x), y)
        loss.backward()                          # ... ends with the gradients averaged over the ranks
        optimizer.step(); optimizer.zero_grad()

Why it equals one process on the global batch: with each rank's loss the mean over its B samples, the
global-batch loss is the mean of the R rank losses, so its gradient is the mean of the rank gradients.

How the average is taken: at wrap time the trainable parameters are laid out (in reverse registration
order, the order backward finishes them) in a few persistent contiguous buckets per dtype (``bucket_cap_mb``),
each with one trailing slot per parameter. When backward has accumulated every ``.grad`` (an end-of-backward
callback queued by the first parameter hook that fires), each gradient is copied into its slot - or is
already there: ``.grad`` is left pointing at its slot, so the next backward accumulates in place - the
trailing slot set to 1 (0 and zeros for a parameter that got no gradient on this rank, so the collectives
are identical on every rank), and each bucket is summed with one ``Allreduce`` and scaled by 1/R. A
parameter no rank produced a gradient for gets ``.grad = None``, as in one process.

Communication does not overlap backward: chainrule's engine accumulates leaf gradients only at the end of
backward, and on a machine whose cores all compute there is nothing to overlap with (docs/scaling.md).

``no_sync()`` skips the average (gradient accumulation: the gradients add up locally and are averaged by
the first backward outside the block). ``check_every=N`` compares a checksum of every parameter across
ranks every N training forwards and raises if replicas drifted apart. Mismatched models (names, shapes,
dtypes) raise at wrap time.
"""
import contextlib
import hashlib
import json
import time

import numpy as np

from .. import random as _random
from ..autograd.engine import queue_callback
from ..autograd.grad_mode import STATE
from ..device import check_device
from ..nn.module import Module
from ..tensor import _make
from . import process_group as pg
from .buckets import make_buckets

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Data-parallel wrapper of ``module`` (PyTorch's ``torch.nn.parallel.DistributedDataParallel`` API).

    ``broadcast_buffers``: rank 0's buffers (BatchNorm running statistics) are copied to every rank before
    each training forward. ``bucket_cap_mb``: size of one gradient bucket. ``find_unused_parameters``: both
    values work - parameters that got no gradient are always handled. ``gradient_as_bucket_view``: both
    values work - after the first average ``.grad`` is a view of its bucket either way (PyTorch's memory
    saving). ``static_graph``: a hint PyTorch uses to skip its unused-parameter search; chainrule's costs
    nothing, so both values behave the same. ``check_every``: every N training
    forwards, verify the replicas still hold identical parameters (0: never). ``device_ids``,
    ``output_device``, ``dim``, ``process_group`` exist for PyTorch code; only their CPU/world defaults are
    supported."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, gradient_as_bucket_view=False,
                 static_graph=False, *, check_every=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a chainrule nn.Module, got {type(module).__name__}")
        # GPU ids (PyTorch's ints are CUDA indices): the one device error
        for d in list(device_ids or []) + ([output_device] if output_device is not None else []):
            check_device(f"cuda:{d}" if isinstance(d, int) else d, "DistributedDataParallel")
        for name, value, ok in (("dim", dim, dim == 0), ("process_group", process_group, process_group is None)):
            if not ok:
                raise ValueError(f"DistributedDataParallel: {name}={value!r} is not supported (chainrule runs on "
                                 f"the CPU, one world of MPI.COMM_WORLD, batches split along dim 0); leave it out")
        if not (isinstance(bucket_cap_mb, (int, float)) and bucket_cap_mb > 0):
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        for name, value in (("gradient_as_bucket_view", gradient_as_bucket_view), ("static_graph", static_graph),
                            ("find_unused_parameters", find_unused_parameters),
                            ("broadcast_buffers", broadcast_buffers)):
            if not isinstance(value, bool):
                raise TypeError(f"DistributedDataParallel: {name} must be True or False, got {value!r}")
        if not (isinstance(check_every, int) and check_every >= 0):
            raise ValueError(f"DistributedDataParallel: check_every must be an int >= 0, got {check_every!r}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.check_every = check_every
        self.require_backward_grad_sync = True
        self._world = pg._get()
        self._forwards = 0
        self.stats = {"reductions": 0, "bytes": 0, "seconds": 0.0}
        cap = int(bucket_cap_mb * 2 ** 20)

        self._check_same_model()
        params = [p for p in module.parameters() if p.requires_grad]
        buffers = [b for b in module.buffers() if b is not None]
        self._buffer_buckets = make_buckets(buffers, cap)
        self._grad_buckets = make_buckets(list(reversed(params)), cap, extra_per_tensor=1)
        self._grad_views = [[_make(v) for v in b.views] for b in self._grad_buckets]
        self.seed = _random.initial_seed()
        if self._world.size > 1:
            self._broadcast_from_rank0(list(module.parameters()) + buffers, cap)
            self._share_seed()
            self._on_backward_end = self._after_backward
            self._hooks_handles = [p.register_hook(self._grad_ready) for p in params]

    # ------------------------------------------------------------------ wrap time
    def _signature(self):
        rows = [["parameter", n, list(p.shape), str(p._data.dtype), bool(p.requires_grad)]
                for n, p in self.module.named_parameters()]
        rows += [["buffer", n, list(b.shape), str(b._data.dtype)] for n, b in self.module.named_buffers()
                 if b is not None]
        return rows

    def _check_same_model(self):
        mine = json.dumps(self._signature()).encode()
        every = self._world.allgather_bytes(mine, name="allgather (model check)")
        if all(s == every[0] for s in every):
            return
        ref = json.loads(every[0])
        lines = []
        for r, s in enumerate(every):
            if s == every[0]:
                continue
            other = json.loads(s)
            diffs = [f"rank 0 has {_row(a)}, rank {r} has {_row(b)}" for a, b in zip(ref, other) if a != b][:3]
            if len(ref) != len(other):
                diffs.append(f"rank 0 has {len(ref)} parameters+buffers, rank {r} has {len(other)}")
            lines.append(f"rank {r} differs from rank 0: " + "; ".join(diffs))
        raise pg.DistributedError("DistributedDataParallel: the ranks built different models (every rank must "
                                  "build the same architecture before wrapping):\n  " + "\n  ".join(lines))

    def _broadcast_from_rank0(self, tensors, cap):
        for bucket in make_buckets(tensors, cap):
            bucket.pack()
            self._world.bcast(bucket.flat, 0, name="broadcast (initial weights)")
            bucket.unpack()

    def _share_seed(self):
        """Rank 0's seed becomes the job's; each rank's global generator is reseeded from (seed, rank), so
        the job is reproducible from rank 0's seed and dropout masks still differ between ranks."""
        seed = np.array([self.seed], np.int64)
        self._world.bcast(seed, 0, name="broadcast (seed)")
        self.seed = int(seed[0])
        _random.manual_seed(int(np.random.SeedSequence([self.seed, self._world.rank]).generate_state(1)[0]))

    # ------------------------------------------------------------------ training
    def forward(self, *args, **kwargs):
        if self._world.size > 1 and self.module.training and STATE.grad_enabled:
            if self.broadcast_buffers:
                for bucket in self._buffer_buckets:
                    bucket.pack()
                    self._world.bcast(bucket.flat, 0, name="broadcast (buffers)")
                    bucket.unpack()
            self._forwards += 1
            if self.check_every and self._forwards % self.check_every == 0:
                self.check_replicas()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside the block accumulates gradients locally, without averaging them (the first
        backward after the block averages the accumulated sum)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _grad_ready(self, grad):
        queue_callback(self._on_backward_end)

    def _after_backward(self):
        if self.require_backward_grad_sync:
            self.reduce_gradients()

    def reduce_gradients(self):
        """Average every parameter's ``.grad`` across the ranks (called at the end of backward; call it by
        hand only after filling ``.grad`` some other way)."""
        world = self._world
        if world.size == 1:
            return
        scale = 1.0 / world.size
        t0 = time.perf_counter()
        for bucket, grad_views in zip(self._grad_buckets, self._grad_views):
            got = bucket.extra
            for i, (p, view, gv) in enumerate(zip(bucket.tensors, bucket.views, grad_views)):
                g = p.grad
                if g is None:
                    view.fill(0)
                    got[i] = 0
                else:
                    if g is not gv:
                        view[...] = g._data
                    got[i] = 1
            world.allreduce(bucket.flat, "sum", name="allreduce (gradients)")
            grads = bucket.flat[:bucket.numel]
            np.multiply(grads, scale, out=grads)
            for i, (p, gv) in enumerate(zip(bucket.tensors, grad_views)):
                if got[i] == 0:
                    p.grad = None                # no rank had a gradient for it: as in one process
                else:
                    gv._vc[0] += 1
                    p.grad = gv
            self.stats["bytes"] += bucket.flat.nbytes
        self.stats["reductions"] += 1
        self.stats["seconds"] += time.perf_counter() - t0   # copy in, Allreduce (incl. waiting), scale

    # ------------------------------------------------------------------ replica check
    def check_replicas(self):
        """Raise DistributedError naming the ranks and parameters that differ from rank 0's."""
        names, digests = [], []
        for n, p in self.module.named_parameters():
            names.append(n)
            digests.append(hashlib.blake2b(np.ascontiguousarray(p._data).tobytes(), digest_size=8).digest())
        every = self._world.allgather_bytes(b"".join(digests), name="allgather (parameter checksum)")
        bad = []
        for r, blob in enumerate(every):
            differ = [names[i] for i in range(len(names)) if blob[8 * i:8 * i + 8] != every[0][8 * i:8 * i + 8]]
            if differ:
                bad.append(f"rank {r}: {', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''}")
        if bad:
            raise pg.DistributedError(
                f"DistributedDataParallel: after {self._forwards} training forwards the replicas have drifted "
                f"apart (parameters that differ from rank 0's): " + "; ".join(bad) + ". Every rank must apply "
                f"the same optimiser step to the same averaged gradients; look for rank-dependent code")

    def gradient_bytes(self):
        """Bytes one gradient average sends through the Allreduce (the buckets' size)."""
        return sum(b.flat.nbytes for b in self._grad_buckets)


def _row(row):
    kind, name, shape, dtype = row[:4]
    return f"{kind} {name!r} {tuple(shape)} {dtype}"
