"""What ``Trainer(..., distributed=True)`` does on top of one process's loop (``TrainerSync``).

    mpiexec -n 4 python train.py      # train.py: Trainer(model, opt, loss, distributed=True).fit(...)

* The model is wrapped in ``DistributedDataParallel`` (rank 0's weights everywhere; gradients averaged at
  the end of every backward that ends an optimiser step; earlier backwards of an ``accumulate`` window run
  under ``no_sync()``), so callbacks that look at gradients before the step see the averaged ones.
* The training loader is re-made over a ``DistributedSampler`` (same batch size per rank: the global batch
  is world_size x batch_size; shuffled from rank 0's seed when the loader shuffled; ``set_epoch(epoch)``
  every epoch, so a resume lands on the right order) - in a world of one too, so the order of the samples
  does not depend on the world size and a checkpoint resumes under any. The validation loader gets every
  R-th sample, unpadded.
* Epoch and validation values are reduced over the ranks before anyone sees them: loss sums and sample
  counts are summed, metric states are combined (summed, or ``metric.merge_states(states)`` when a metric
  defines it; R2's running moments combine with Chan's formula). The live progress bar shows rank 0's
  running values.
* After every batch the ranks agree on ``stop_training`` and Ctrl-C (one tiny Allreduce), so an early stop
  on one rank stops all of them at the same batch instead of leaving the others in a collective.
* ``trainer.is_global_zero`` is False on ranks other than 0: the progress bar, CSV and TensorBoard logs,
  checkpoints and plots are written by rank 0 only.

In a world of one process (no MPI launch) only the shuffle order differs from ``distributed=False``: the
same script runs anywhere.
"""
import contextlib
import copy
import json

import numpy as np

from .. import random as _random
from ..utils.data import DataLoader, IterableDataset
from ..utils.data import sampler as _sampler
from . import process_group as pg
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler

__all__ = ["TrainerSync", "merge_metric_states"]


class _ShardSampler(_sampler.Sampler):
    """Indices rank, rank + R, ... in order, not padded (evaluation: every sample counted once)."""

    def __init__(self, n, rank, world):
        self.n, self.rank, self.world = n, rank, world

    def _index_array(self):
        return np.arange(self.rank, self.n, self.world)

    def __iter__(self):
        yield from self._index_array().tolist()

    def __len__(self):
        return len(range(self.rank, self.n, self.world))


_sampler._ARRAY_ITERS.add(_ShardSampler.__iter__)


class TrainerSync:
    """The distributed side of one ``Trainer``: created once, at its first ``fit``."""

    def __init__(self, trainer):
        pg.init()
        self.world = pg._get()
        self.size, self.rank = self.world.size, self.world.rank
        trainer.is_global_zero = self.rank == 0
        self.ddp = DistributedDataParallel(trainer.model) if self.size > 1 else None
        # the shuffle seed, the same on every rank: the Trainer's (so a resumed run replays the same order),
        # else rank 0's (DDP broadcast it)
        if trainer.seed is not None:
            self.seed = trainer.seed
        else:
            self.seed = self.ddp.seed if self.ddp is not None else _random.initial_seed()

    # ------------------------------------------------------------------ data
    def shard(self, loader, train):
        """``loader`` re-made to give this rank its share. Training data goes through a DistributedSampler
        even in a world of one, so the sample order depends on the seed and not on the world size: N ranks
        with batch B see, step by step, the samples one process with batch N x B sees."""
        if loader is None or (self.size == 1 and not train):
            return loader
        if isinstance(loader.sampler, (DistributedSampler, _ShardSampler)):
            return loader
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset) \
                or loader.batch_size is None:
            raise TypeError("Trainer(distributed=True): the data must be (x, y) arrays, a map-style Dataset or a "
                            "batched DataLoader over one, so that it can be split between the ranks; shard an "
                            "IterableDataset yourself (using chainrule.distributed.rank())")
        data = loader.dataset
        plain = (_sampler.RandomSampler, _sampler.SequentialSampler)
        if type(loader.sampler) not in plain or getattr(loader.sampler, "_num_samples", None) is not None \
                or getattr(loader.sampler, "replacement", False) or \
                type(loader.batch_sampler) is not _sampler.BatchSampler:
            raise TypeError(f"Trainer(distributed=True): the DataLoader's sampler ({type(loader.sampler).__name__}) "
                            f"cannot be split between the ranks automatically; give a DataLoader with "
                            f"shuffle=True/False, or build it with sampler=chainrule.distributed."
                            f"DistributedSampler(dataset) yourself")
        if train:
            shuffle = isinstance(loader.sampler, _sampler.RandomSampler)
            sampler = DistributedSampler(data, self.size, self.rank, shuffle=shuffle, seed=self.seed,
                                         drop_last=loader.drop_last)
        else:
            sampler = _ShardSampler(len(data), self.rank, self.size)
        return DataLoader(data, batch_size=loader.batch_size, sampler=sampler, collate_fn=loader.collate_fn,
                          drop_last=loader.drop_last)

    @staticmethod
    def begin_epoch(loader, epoch):
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)

    # ------------------------------------------------------------------ training step
    def forward_model(self, model):
        return self.ddp if self.ddp is not None else model

    def backward_context(self, sync):
        """``no_sync()`` for a backward that does not end an optimiser step."""
        if self.ddp is None or sync:
            return contextlib.nullcontext()
        return self.ddp.no_sync()

    def agree(self, *flags):
        """Each flag true on any rank -> true on every rank."""
        if self.size == 1:
            return tuple(bool(f) for f in flags)
        arr = np.array([1 if f else 0 for f in flags], np.int64)
        self.world.allreduce(arr, "max", name="allreduce (stop flags)")
        return tuple(bool(v) for v in arr)

    # ------------------------------------------------------------------ metrics
    def reduce(self, loss_sum, seen, metrics):
        """(loss_sum, seen, metrics) summed over the ranks; the metrics are combined copies."""
        if self.size == 1:
            return loss_sum, seen, metrics
        sums = np.array([loss_sum, seen], np.float64)
        self.world.allreduce(sums, "sum", name="allreduce (epoch loss)")
        merged = []
        for m in metrics:
            blobs = self.world.allgather_bytes(json.dumps(_encode(m.state_dict())).encode(),
                                               name="allgather (metric state)")
            states = [_decode(json.loads(b)) for b in blobs]
            m = copy.deepcopy(m)
            m.load_state_dict(merge_metric_states(m, states))
            merged.append(m)
        return float(sums[0]), int(round(sums[1])), merged


def merge_metric_states(metric, states):
    """One state from every rank's: ``metric.merge_states(states)`` if defined, Chan's combination for R2's
    running moments, else the element-wise sum (counts, sums, confusion matrices - padded to the largest)."""
    if hasattr(metric, "merge_states"):
        return metric.merge_states(states)
    if type(metric).__name__ == "R2":
        return _merge_moments(states)
    out = {}
    for key in states[0]:
        values = [s[key] for s in states]
        if isinstance(values[0], np.ndarray) and values[0].ndim > 0:
            shape = tuple(max(v.shape[d] for v in values) for d in range(values[0].ndim))
            total = np.zeros(shape, np.result_type(*values))
            for v in values:
                total[tuple(slice(0, k) for k in v.shape)] += v
            out[key] = total
        else:
            out[key] = sum(values[1:], values[0])
    return out


def _merge_moments(states):
    """(n, mean, m2, ss_res) of several streams -> one (Chan et al.'s pairwise update)."""
    n, mean, m2, ss = states[0]["n"], states[0]["mean"], states[0]["m2"], states[0]["ss_res"]
    for s in states[1:]:
        nb = s["n"]
        if nb == 0:
            continue
        total = n + nb
        delta = s["mean"] - mean
        mean = mean + delta * nb / total
        m2 = m2 + s["m2"] + delta ** 2 * n * nb / total
        ss = ss + s["ss_res"]
        n = total
    return {"n": n, "mean": mean, "m2": m2, "ss_res": ss}


def _encode(state):
    return {k: {"array": v.ravel().tolist(), "shape": list(v.shape), "dtype": str(v.dtype)}
            if isinstance(v, np.ndarray) else
            (v.item() if isinstance(v, np.generic) else v) for k, v in state.items()}


def _decode(state):
    return {k: np.array(v["array"], dtype=v["dtype"]).reshape(v["shape"]) if isinstance(v, dict) and "array" in v
            else v
            for k, v in state.items()}
