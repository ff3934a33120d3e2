"""Flat buckets: many tensors packed into a few contiguous arrays, so one collective moves them all.

A ``Bucket`` holds tensors of one dtype side by side in ``flat`` (plus ``extra`` trailing slots the caller
may use); ``views[i]`` is tensor i's slice of it, shaped like the tensor. ``make_buckets`` groups a list of
tensors by dtype, in the given order, starting a new bucket when one would pass ``cap_bytes`` - the same
grouping on every rank, so the collectives line up.
"""
import numpy as np

__all__ = ["Bucket", "make_buckets"]


class Bucket:
    def __init__(self, tensors, extra=0):
        self.tensors = list(tensors)
        dtype = self.tensors[0]._data.dtype
        sizes = [t._data.size for t in self.tensors]
        self.numel = int(sum(sizes))
        self.flat = np.zeros(self.numel + extra, dtype)
        self.extra = self.flat[self.numel:]
        self.views, start = [], 0
        for t, n in zip(self.tensors, sizes):
            self.views.append(self.flat[start:start + n].reshape(t._data.shape))
            start += n

    def pack(self):
        """Copy the tensors' values into ``flat``."""
        for t, v in zip(self.tensors, self.views):
            v[...] = t._data

    def unpack(self):
        """Copy ``flat`` back into the tensors (in place, bumping their version counters)."""
        for t, v in zip(self.tensors, self.views):
            t._data[...] = v
            t._vc[0] += 1


def make_buckets(tensors, cap_bytes=None, extra_per_tensor=0):
    """Group ``tensors`` (in order) by dtype into buckets of at most ``cap_bytes`` (a tensor larger than the
    cap gets a bucket of its own). ``extra_per_tensor`` trailing slots per tensor go to ``Bucket.extra``."""
    by_dtype, order = {}, []
    for t in tensors:
        key = t._data.dtype
        if key not in by_dtype:
            by_dtype[key] = [[]]
            order.append(key)
        groups = by_dtype[key]
        used = sum(x._data.nbytes for x in groups[-1])
        if groups[-1] and cap_bytes is not None and used + t._data.nbytes > cap_bytes:
            groups.append([])
        groups[-1].append(t)
    return [Bucket(g, extra_per_tensor * len(g)) for key in order for g in by_dtype[key] if g]
