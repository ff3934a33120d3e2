"""What ``fit``/``evaluate``/``predict`` accept as data, turned into a DataLoader."""
import numpy as np

from ..tensor import Tensor
from ..utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

__all__ = ["as_loader", "loader_generators"]


def _as_column(a, float_dtype, what):
    if isinstance(a, Tensor):
        return a
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{what}: expected a NumPy array or a Tensor, got {type(a).__name__}")
    if a.dtype.kind == "f" and float_dtype is not None and a.dtype != float_dtype:
        a = a.astype(float_dtype)           # NumPy float64 data for a float32 model: the model's dtype
    elif a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)
    elif a.dtype.kind not in "fb":
        raise TypeError(f"{what}: arrays of dtype {a.dtype} cannot be batched; use numbers")
    return a


def as_loader(data, *, batch_size, shuffle, what, float_dtype=None, labelled=True):
    """``data`` as a DataLoader: a DataLoader (as it is), a Dataset (batched by ``batch_size``, shuffled when
    ``shuffle``), or arrays: ``(x, y)`` - or just ``x`` when ``labelled`` is False (``predict``)."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset) or (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                                     and not isinstance(data, (tuple, list, np.ndarray, Tensor))):
        return DataLoader(data, batch_size=batch_size,
                          shuffle=bool(shuffle) and not isinstance(data, IterableDataset))
    if isinstance(data, (tuple, list)) and len(data) == 2 and labelled:
        x, y = (_as_column(a, float_dtype if i == 0 else None, f"{what}[{i}]") for i, a in enumerate(data))
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{what}: x has {x.shape[0]} samples but y has {y.shape[0]}; (x, y) need one row "
                             f"per sample each")
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)
    if not labelled and isinstance(data, (np.ndarray, Tensor)):
        return DataLoader(TensorDataset(_as_column(data, float_dtype, what)), batch_size=batch_size)
    if not labelled and isinstance(data, (tuple, list)) and len(data) == 2:
        return as_loader(data, batch_size=batch_size, shuffle=shuffle, what=what, float_dtype=float_dtype)
    raise TypeError(f"{what}: expected a DataLoader, a Dataset or (x, y) arrays, got {type(data).__name__}"
                    + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))


def loader_generators(loader):
    """The chainrule Generators a DataLoader draws its order from (its own, its samplers'), without repeats.
    The global generator is not listed (it is always saved)."""
    found = []
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        g = getattr(obj, "generator", None)
        if g is not None and hasattr(g, "get_state") and all(g is not f for f in found):
            found.append(g)
    return found
