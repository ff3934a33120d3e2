"""one_hot: integer class indices -> a one-hot int64 tensor (no gradient: the output is integer)."""
import numpy as np

from ..errors import DTypeError
from ..tensor import Tensor, _make

__all__ = ["one_hot"]


def one_hot(tensor, num_classes=-1):
    """Integer class indices of any shape -> int64 one-hot of shape ``tensor.shape + (num_classes,)``
    (num_classes=-1: max value + 1)."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: class values must be an integer tensor (int64), got {idx.dtype}. "
                         f"Fix: pass tensor.long()")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and int(idx.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if idx.size and int(idx.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                           f"got {int(idx.max())}")
    out = np.zeros(idx.shape + (num_classes,), np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return _make(out)
