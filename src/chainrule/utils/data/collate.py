"""Turning a list of samples into a batch (``default_collate``) and single samples into tensors
(``default_convert``), with PyTorch's rules:

    Tensors / NumPy arrays        -> stacked along a new dim 0 (dtype kept)
    Python ints / bools / floats  -> int64 / bool / float64 tensors (floats -> float64, as torch does)
    NumPy scalars                 -> a tensor of their dtype
    dicts                         -> a dict of collated values, key by key
    namedtuples                   -> the same namedtuple of collated fields
    tuples / lists                -> a list of collated fields (torch returns a list for tuples too)
    strings / bytes               -> the batch as it is
"""
import collections.abc as abc

import numpy as np

from ...creation import as_tensor, tensor
from ...dtypes import float64
from ...ops.shape import stack
from ...tensor import Tensor, _make
from .dataset import BatchedSamples

__all__ = ["default_collate", "default_convert"]

_FIX = "Fix: make samples hold tensors, NumPy arrays, numbers, dicts or lists, or pass a custom collate_fn"


def _stack_arrays(arrays, what):
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: can't stack {what} of different shapes into a batch: "
                           f"{sorted(shapes, key=str)}. Fix: resize/pad samples to one shape (e.g. in the "
                           f"dataset's transform), or pass a collate_fn that pads them")
    return np.stack(arrays)


def _check_np_dtype(dt):
    if dt.kind in "USOV":
        raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                        f"found NumPy arrays of dtype {dt}. {_FIX}")


def default_collate(batch):
    """A list of samples -> a batch (see the module docstring for the rules)."""
    if isinstance(batch, BatchedSamples):       # a dataset's __getitems__ already stacked the columns
        return batch.collate()
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch (no samples to stack)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t._requires_grad for t in batch):
            return stack(list(batch))
        return _make(_stack_arrays([t._data for t in batch], "tensors"))
    if isinstance(elem, np.ndarray):
        _check_np_dtype(elem.dtype)
        return as_tensor(_stack_arrays([np.asarray(a) for a in batch], "NumPy arrays"))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        _check_np_dtype(elem.dtype)
        return as_tensor(np.asarray(list(batch)))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=float64)
    if isinstance(elem, int):                    # bool is an int: a batch of bools is a bool tensor
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch                             # as it is (a tuple for a field of tuple samples, as torch)
    if isinstance(elem, abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        if type(elem) is dict:
            return out
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):          # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError(f"default_collate: each element in list of batch should be of equal size; got "
                               f"sizes {sorted({len(e) for e in batch})}. Fix: give every sample the same "
                               f"number of fields, or pass a custom collate_fn")
        cols = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple) or type(elem) is list:
            return cols
        try:
            return type(elem)(cols)
        except TypeError:
            return cols
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}. {_FIX}")


def default_convert(data):
    """One sample (no batching) -> tensors where it holds NumPy arrays / scalars; everything else kept."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) or (isinstance(data, np.generic) and not isinstance(data, (np.str_,
                                                                                            np.bytes_))):
        if data.dtype.kind in "USOV":
            return data
        return as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        if type(data) is dict:
            return out
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence):
        items = [default_convert(d) for d in data]
        if type(data) is list:
            return items
        try:
            return type(data)(items)
        except TypeError:
            return items
    return data
