"""Samplers: which dataset indices an epoch visits, in which order, and how they are grouped into batches.

The built-in samplers draw a whole epoch's indices as one NumPy array (``_index_array``); ``BatchSampler``
slices that array into batches instead of gathering indices one Python int at a time. Randomness comes
from the ``generator`` given (a ``chainrule.Generator``), else from the global one, so
``chainrule.manual_seed`` makes shuffling reproducible; every epoch draws a new order.
"""
import numpy as np

from ...random import Generator, default_generator
from ...tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def _np_gen(generator):
    if generator is None:
        return default_generator()._np
    if isinstance(generator, Generator):
        return generator._np
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a chainrule.Generator (or None for the global one), got "
                    f"{type(generator).__name__}. Fix: g = chainrule.Generator(); g.manual_seed(0)")


_CHUNK = 1 << 20         # indices drawn at a time with replacement (8 MiB)


class Sampler:
    """Base class: ``__iter__`` yields dataset indices (``__len__`` optional)."""

    def __init__(self, data_source=None):
        pass

    def _index_chunks(self):
        yield self._index_array()

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_array(self):
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset (a new one each epoch); with ``replacement=True`` ``num_samples`` draws
    with replacement. Without replacement ``num_samples`` may exceed the length (whole permutations are
    concatenated, as PyTorch does)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int) or isinstance(num_samples, bool)
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        _np_gen(generator)                   # validate now, not at the first epoch
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self):
        parts = list(self._index_chunks())
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    def _index_chunks(self):
        """The epoch's indices as arrays drawn one after another, so that a huge ``num_samples`` (the
        "infinite loader" idiom, num_samples=int(1e10)) is drawn lazily, as PyTorch does, not all up front."""
        n, k = len(self.data_source), self.num_samples
        g = _np_gen(self.generator)
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: can't draw with replacement from an empty dataset")
            for start in range(0, k, _CHUNK):
                yield g.integers(0, n, size=min(_CHUNK, k - start))
            return
        if n == 0:
            yield np.arange(0)
            return
        full, rem = divmod(k, n)
        for _ in range(full):
            yield g.permutation(n)
        if rem:
            yield g.permutation(n)[:rem]

    def __iter__(self):
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one each epoch)."""

    def __init__(self, indices, generator=None):
        _np_gen(generator)
        self.indices = indices
        self.generator = generator

    def _index_array(self):
        idx = self.indices._data if isinstance(self.indices, Tensor) else np.asarray(self.indices)
        return idx[_np_gen(self.generator).permutation(len(idx))]

    def __iter__(self):
        yield from self._index_array().tolist()

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1-d sequence, got shape {w.shape}")
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: can't draw {num_samples} samples without replacement "
                             f"from {np.count_nonzero(w)} non-zero weights")
        _np_gen(generator)
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self):
        return _np_gen(self.generator).choice(len(self.weights), size=self.num_samples,
                                              replace=self.replacement, p=self.weights / self.weights.sum())

    def __iter__(self):
        yield from self._index_array().tolist()

    def __len__(self):
        return self.num_samples


# samplers whose __iter__ is exactly their _index_array (a subclass overriding __iter__ is iterated normally)
_ARRAY_ITERS = {SequentialSampler.__iter__, RandomSampler.__iter__, SubsetRandomSampler.__iter__,
                WeightedRandomSampler.__iter__}


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; ``drop_last`` drops a short last one."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        bs = self.batch_size
        if getattr(type(self.sampler), "__iter__", None) in _ARRAY_ITERS:
            carry = np.arange(0)                 # a partial batch left over at the end of a chunk
            for chunk in self.sampler._index_chunks():
                idx = np.concatenate([carry, chunk]) if carry.size else chunk
                stop = len(idx) - len(idx) % bs
                for i in range(0, stop, bs):
                    yield idx[i:i + bs].tolist()
                carry = idx[stop:]
            if carry.size and not self.drop_last:
                yield carry.tolist()
            return
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == bs:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
