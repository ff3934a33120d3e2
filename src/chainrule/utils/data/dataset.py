"""Datasets: the map-style ``Dataset`` (``len`` + ``[i]``), ``IterableDataset`` (a stream), and the usual
combinators (``TensorDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset``, ``random_split``).

Whole batches at once: a map-style dataset may define ``__getitems__(indices)`` (PyTorch's protocol). The
DataLoader then asks for a batch's samples in one call instead of one ``[i]`` per index. ``TensorDataset``
uses it to fancy-index each of its tensors once per batch (one copy of the batch, never one per sample):
it returns a ``BatchedSamples`` - a read-only sequence of the samples (built lazily, for a custom
``collate_fn``) that also carries the already-stacked columns, which ``default_collate`` returns as they are.
"""
import bisect
import itertools
import math
import warnings
from collections.abc import Sequence

import numpy as np

from ...creation import from_numpy, randperm
from ...tensor import Tensor, _make

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split", "BatchedSamples"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and (for samplers) ``__len__``.

    ``a + b`` concatenates two datasets. Optionally ``__getitems__(indices)`` returns a batch's samples
    in one call (see the module docstring)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} is a Dataset without __getitem__; a map-style "
                                  f"dataset must define __getitem__(index) (and __len__)")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__`` (no indexing, no sampler, no shuffle).
    ``a + b`` chains two of them."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} is an IterableDataset without __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class BatchedSamples(Sequence):
    """The samples at a batch of indices, read at once: ``columns`` holds one Tensor per field with the batch
    along dim 0 (what ``default_collate`` returns, as a list, like PyTorch's for tuple samples).

    It is also a sequence of the individual samples (``len``, ``[i]``, iteration), made on demand as views
    into the columns, so a custom ``collate_fn`` written for a list of samples still works."""
    __slots__ = ("columns", "_item")

    def __init__(self, columns, item=None):
        self.columns = tuple(columns)
        self._item = item

    def __len__(self):
        return len(self.columns[0]) if self.columns else 0

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._item is not None:
            return self._item(self, i)
        return tuple(c[i] for c in self.columns)

    def collate(self):
        return list(self.columns)

    def __repr__(self):
        return f"BatchedSamples({len(self)} samples, columns {[tuple(c.shape) for c in self.columns]})"


def _as_index_array(indices):
    """A batch's indices (list / range / NumPy array / Tensor) -> an intp NumPy array."""
    if isinstance(indices, Tensor):
        indices = indices._data
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            return idx.astype(np.intp)
        raise TypeError(f"__getitems__: indices must be integers, got dtype {idx.dtype}")
    return idx.astype(np.intp, copy=False)


class TensorDataset(Dataset):
    """Samples are the rows of the given tensors: ``ds[i] == (t0[i], t1[i], ...)``; all must share dim 0.

    NumPy arrays are accepted too (wrapped without a copy). A batch is read with one fancy-index per tensor
    (``__getitems__``), so a DataLoader over large in-memory arrays never copies per sample."""

    def __init__(self, *tensors):
        ts = []
        for t in tensors:
            if isinstance(t, np.ndarray):
                t = from_numpy(t)
            elif not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors (or NumPy arrays), got {type(t).__name__}. "
                                f"Fix: convert with chainrule.tensor(...)")
            if t.ndim == 0:
                raise ValueError("TensorDataset: a 0-d tensor has no rows; every tensor needs a first "
                                 "(sample) dimension")
            ts.append(t)
        sizes = [t.shape[0] for t in ts]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: the first dimensions are {sizes} "
                             f"(shapes {[tuple(t.shape) for t in ts]}); every tensor must have one row per "
                             f"sample")
        self.tensors = tuple(ts)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        idx = _as_index_array(indices)
        cols = []
        for t in self.tensors:
            if t._requires_grad:             # keep the graph: the differentiable index op
                cols.append(t[_make(idx.astype(np.int64))])
            else:
                cols.append(_make(t._data[idx]))
        return BatchedSamples(cols)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0

    def __repr__(self):
        return f"TensorDataset({len(self)} samples, shapes {[tuple(t.shape) for t in self.tensors]})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._cache = (None, None)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def _index_array(self):
        key, arr = self._cache
        if key is not self.indices:
            arr = _as_index_array(self.indices)
            self._cache = (self.indices, arr)
        return arr

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems(self._index_array()[_as_index_array(indices)].tolist())
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use ChainDataset (or "
                                "iterable_a + iterable_b) to chain streams")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][idx - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets streamed one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are sizes summing to ``len(dataset)``, or fractions summing to 1 (each floor(n * f), the
    remainder handed out one by one from the first split on, as PyTorch does). ``generator`` (a
    ``chainrule.Generator``) makes the split reproducible; default: the global generator."""
    n = len(dataset)
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} ({frac}) is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, s in enumerate(sizes):
            if s == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this gives an empty dataset")
        lengths = sizes
    for i, s in enumerate(lengths):
        if s != int(s) or s < 0:
            raise ValueError(f"random_split: lengths must be non-negative integers (or fractions summing to "
                             f"1); got {lengths[i]!r} at index {i}")
    lengths = [int(s) for s in lengths]
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"dataset ({n}). Fix: give sizes that add up to {n}, or fractions that add up to 1")
    perm = randperm(n, generator=generator)._data.tolist()
    return [Subset(dataset, perm[end - s:end]) for end, s in zip(itertools.accumulate(lengths), lengths)]
