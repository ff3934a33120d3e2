"""Checkpoints in a distributed job: rank 0 writes, atomically; every rank can read.

The replicas hold identical weights and optimiser states, so one copy is the checkpoint: ``save`` writes it
on rank 0 only (``chainrule.save``: a temporary file, fsync'ed, renamed over the target - a crash leaves the
previous checkpoint intact) and then waits at a barrier, so no rank reads a file that is not there yet.
Nothing in it depends on the world size - save ``ddp.module.state_dict()`` (no ``module.`` prefix) and the
``DistributedSampler``'s ``state_dict()`` (next epoch, seed) - so a job resumes under any number of ranks:
the sampler re-shards the same permutation.
"""
from .. import serialization
from . import process_group as pg

__all__ = ["save", "load"]


def save(obj, path, *, metadata=None):
    """Write ``obj`` to ``path`` on rank 0 (atomically), then barrier. Returns True on the rank that wrote."""
    wrote = pg.rank() == 0
    if wrote:
        serialization.save(obj, path, metadata=metadata)
    pg.barrier()
    return wrote


def load(path):
    """Read a checkpoint on every rank (the path must be visible to all of them, e.g. a shared filesystem)."""
    return serialization.load(path)
