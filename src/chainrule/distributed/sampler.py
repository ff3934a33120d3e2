"""DistributedSampler: each rank's equal share of the dataset, in a new shared order every epoch.

Every rank draws the same permutation (from ``seed + epoch``) and takes every R-th index starting at its
rank, so the shards are disjoint and, batch by batch, together form the global batch one process would
take from the same permutation: rank r's batch b of size B is ``perm[b*R*B + r :: R][:B]``.

The shards are equal, so every rank runs the same number of steps and no rank waits in a collective for
one that ran out of data: ``drop_last=False`` pads the permutation with its own first indices up to a
multiple of R (a few samples are seen twice per epoch), ``drop_last=True`` drops the tail.

Unlike PyTorch's, the order changes every epoch without ``set_epoch``: each pass advances ``epoch`` by one.
``set_epoch(e)`` still works (the next pass uses e), so PyTorch code that calls it behaves the same.
"""
import numpy as np

from ..utils.data import sampler as _sampler
from . import process_group as pg

__all__ = ["DistributedSampler"]


class DistributedSampler(_sampler.Sampler):
    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas = pg.world_size() if num_replicas is None else num_replicas
        rank = pg.rank() if rank is None else rank
        if not (isinstance(num_replicas, int) and num_replicas >= 1):
            raise ValueError(f"DistributedSampler: num_replicas must be an int >= 1, got {num_replicas!r}")
        if not (isinstance(rank, int) and 0 <= rank < num_replicas):
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last:
            self.num_samples = n // num_replicas
            if self.num_samples == 0:
                raise ValueError(f"DistributedSampler: {n} samples cannot give each of {num_replicas} ranks one "
                                 f"with drop_last=True; use drop_last=False (pads) or fewer ranks")
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """The next pass uses this epoch's order (passes advance it by themselves)."""
        self.epoch = int(epoch)

    def _index_array(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.Generator(np.random.PCG64(self.seed + self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        self.epoch += 1
        if self.total_size > n:                  # pad with the order's own head (repeated if R > n)
            order = np.resize(order, self.total_size)
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        yield from self._index_array().tolist()

    def __len__(self):
        return self.num_samples

    def state_dict(self):
        """What a resume needs: the next epoch and the seed (valid under any world size)."""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state):
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])


# BatchSampler slices _index_array directly (no per-index Python loop) for samplers whose __iter__ is it
_sampler._ARRAY_ITERS.add(DistributedSampler.__iter__)
