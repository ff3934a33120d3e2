"""DataLoader: iterate a dataset in (shuffled) batches, with PyTorch's arguments and semantics.

    for x, y in DataLoader(TensorDataset(X, Y), batch_size=64, shuffle=True):
        ...

Each epoch (each ``iter(loader)``) draws indices from the sampler, groups them with the batch sampler, reads
the samples - in one ``dataset.__getitems__(indices)`` call when the dataset has it (``TensorDataset``,
``Subset`` of one, ``MNIST`` without transforms: one fancy-index per batch, no per-sample copies), else one
``dataset[i]`` per index - and turns them into a batch with ``collate_fn`` (default: ``default_collate``).

Loading runs in the calling process. ``num_workers > 0`` is accepted for PyTorch-style code and also runs
in-process (a warning says so, once).
"""
import warnings

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

_warned_workers = False


def get_worker_info():
    """None: chainrule loads data in the main process (as PyTorch does with ``num_workers=0``)."""
    return None


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class DataLoader:
    """Batches of ``dataset``.

    ``batch_size`` samples per batch (``None``: no batching, each sample is converted and yielded alone);
    ``shuffle`` a new random order every epoch (from ``generator``, a ``chainrule.Generator``, else the global
    generator); ``sampler`` / ``batch_sampler`` custom index orders (exclusive with ``shuffle`` and, for
    ``batch_sampler``, with ``batch_size`` / ``drop_last``); ``drop_last`` drops a short last batch;
    ``collate_fn`` list of samples -> batch. ``pin_memory``, ``timeout``, ``prefetch_factor``... are accepted
    and have no effect on the CPU; ``worker_init_fn`` is called once per epoch with worker id 0."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        global _warned_workers
        if not _is_int(num_workers) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, got "
                             f"{num_workers!r}; use num_workers=0 to load in the main process")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                             "to None")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if num_workers > 0 and not _warned_workers:
            _warned_workers = True
            warnings.warn(f"DataLoader(num_workers={num_workers}): chainrule loads batches in the main process; "
                          f"the workers are not started (same batches, same order)", UserWarning, stacklevel=2)

        if isinstance(dataset, IterableDataset):
            for name, val in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if val not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but "
                                     f"got {name}={val!r}. An IterableDataset yields samples in its own "
                                     f"order; shuffle inside its __iter__ instead")
        else:
            shuffle = bool(shuffle)
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle. Fix: pass "
                                 "shuffle=False with a sampler (or a RandomSampler as the sampler)")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                     "shuffle, sampler, and drop_last")
                batch_size = None
                drop_last = False
            elif batch_size is None and drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                if not _is_int(batch_size) or batch_size <= 0:
                    raise ValueError(f"DataLoader: batch_size should be a positive integer value (or None), but "
                                     f"got batch_size={batch_size!r}")
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if isinstance(dataset, IterableDataset) and batch_size is not None and (not _is_int(batch_size)
                                                                               or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value (or None), but got "
                             f"batch_size={batch_size!r}")

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.generator = generator
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (isinstance(self.dataset, IterableDataset)
                                                  and self.batch_size is not None)

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)          # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        if self.worker_init_fn is not None and self.num_workers > 0:
            self.worker_init_fn(0)
        return _LoaderIter(self)

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"drop_last={self.drop_last}, batches={self._len_or_unknown()})")

    def _len_or_unknown(self):
        try:
            return len(self)
        except TypeError:
            return "?"


class _LoaderIter:
    """One epoch over a DataLoader (``len`` = batches in it)."""

    def __init__(self, loader):
        self._loader = loader
        self._dataset = loader.dataset
        self._collate = loader.collate_fn
        if isinstance(loader.dataset, IterableDataset):
            self._it = iter(loader.dataset)
            self._next = self._next_iterable
        else:
            self._getitems = getattr(loader.dataset, "__getitems__", None)
            if not callable(self._getitems):
                self._getitems = None
            if loader.batch_sampler is not None:
                self._it = iter(loader.batch_sampler)
                self._next = self._next_batch
            else:
                self._it = iter(loader.sampler)
                self._next = self._next_single

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        return self._next()

    def _next_batch(self):
        indices = next(self._it)
        if self._getitems is not None:
            samples = self._getitems(indices)
        else:
            ds = self._dataset
            samples = [ds[i] for i in indices]
        return self._collate(samples)

    def _next_single(self):
        return self._collate(self._dataset[next(self._it)])

    def _next_iterable(self):
        bs = self._loader.batch_size
        if bs is None:
            return self._collate(next(self._it))
        batch = []
        for sample in self._it:
            batch.append(sample)
            if len(batch) == bs:
                break
        if not batch or (len(batch) < bs and self._loader.drop_last):
            raise StopIteration
        return self._collate(batch)
