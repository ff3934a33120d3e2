"""Creating tensors: from data (``tensor``), filled (``zeros``, ``full``, ``eye``...), ranges, random."""
import functools

import numpy as np

from . import dtypes as _dt
from .device import check_device
from .tensor import Tensor, _make
from .random import default_generator

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
           "rand", "randn", "randint", "randperm", "normal", "zeros_like", "ones_like", "full_like",
           "empty_like", "rand_like", "randn_like", "randint_like"]


def _to_array(data, dtype=None, float_default=False):
    """Data -> a NumPy array with PyTorch's dtype inference (Python floats -> float32, ints -> int64)."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat_items(data)):
            data = _unwrap(data)
        try:
            arr = np.asarray(data)
        except ValueError:
            raise ValueError(f"tensor(): {_ragged(data)}; nested lists must be rectangular (every row of "
                             f"a dimension the same length). Fix: pad the rows, or make one tensor per "
                             f"row") from None
        if dtype is None:
            kind = arr.dtype.kind
            if kind == "f" and arr.dtype != np.float64 or kind == "f" and not _has_float64(data):
                arr = arr.astype(_dt.get_default_dtype().np)
            elif kind == "i" and arr.dtype != np.int64 and not isinstance(data, np.generic):
                arr = arr.astype(np.int64)
            elif kind == "U" or kind == "S" or kind == "O":
                raise TypeError(f"tensor(): can't convert data of type {type(data).__name__} (NumPy dtype "
                                f"{arr.dtype}) to a tensor; only numbers, bools and nested lists of them work")
    if dtype is not None:
        d = _dt.as_dtype(dtype)
        if arr.dtype != d.np:
            if d.np.kind in "iu" and arr.dtype.kind in "fiu" and not isinstance(data, (Tensor, np.ndarray)):
                _check_fits(arr, d)
            arr = arr.astype(d.np)
    elif arr.dtype not in _dt._FROM_NP:
        if arr.dtype.kind == "u" and arr.dtype != np.uint8:
            arr = arr.astype(np.int64)
        else:
            _dt.from_numpy_dtype(arr.dtype)        # raises a clear error
    return arr


def _check_fits(arr, d):
    """Python numbers stored into an integer dtype must fit it, as in PyTorch: NumPy would silently
    turn nan into -2147483648 and 300 into 44 for uint8. (Arrays are cast as NumPy does, as torch does.)"""
    if not arr.size:
        return
    info = np.iinfo(d.np)
    vals = np.trunc(arr) if arr.dtype.kind == "f" else arr
    bad = ~np.isfinite(vals) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    with np.errstate(invalid="ignore"):
        bad |= (vals < info.min) | (vals > info.max)
    if bad.any():
        v = arr[bad].reshape(-1)[0]
        raise RuntimeError(f"tensor(): value {v.item()!r} cannot be converted to type {d.name} without overflow "
                           f"({d.name} holds {info.min}..{info.max}). Fix: use a wider or floating dtype, or "
                           f"clamp/replace the values first")


def _ragged(data):
    """Where a nested list stops being rectangular, in PyTorch's words."""
    level, dim = [data], 0
    while level and all(isinstance(d, (list, tuple)) for d in level):
        lengths = [len(d) for d in level]
        odd = [n for n in lengths if n != lengths[0]]
        if odd:
            return f"expected sequence of length {lengths[0]} at dim {dim} (got {odd[0]})"
        level, dim = [x for d in level for x in d], dim + 1
    return "mixes numbers and sequences at the same depth"


def _has_float64(data):
    """A float64 NumPy scalar/array inside Python data keeps float64 (as torch does for np.float64)."""
    return isinstance(data, (np.floating, np.ndarray)) and data.dtype == np.float64


def _flat_items(data):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flat_items(d)
        else:
            yield d


def _unwrap(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (a number, nested list, NumPy array or Tensor)."""
    arr = _to_array(data, dtype)
    if isinstance(data, (np.ndarray, Tensor)) and arr is (data._data if isinstance(data, Tensor) else data):
        arr = arr.copy()
    t = _make(arr if arr.flags.c_contiguous else arr.copy(order="C"))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array / Tensor when the dtype already matches."""
    if isinstance(data, Tensor) and (dtype is None or _dt.as_dtype(dtype) is data.dtype):
        return data
    return _make(_to_array(data, dtype))


def from_numpy(arr):
    """A tensor sharing memory with the NumPy array ``arr`` (writes to one show in the other)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    _dt.from_numpy_dtype(arr.dtype)
    return _make(arr)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        size = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"expected a shape as ints or a tuple of ints, got {size!r}") from None
    if any(s < 0 for s in size):
        raise ValueError(f"negative dimension in shape {size}")
    return size


def _dtype_or_default(dtype, default=None):
    return _dt.as_dtype(dtype).np if dtype is not None else (default or _dt.get_default_dtype()).np


def _leaf(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _leaf(np.zeros(_size(size), _dtype_or_default(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _leaf(np.ones(_size(size), _dtype_or_default(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _leaf(np.empty(_size(size), _dtype_or_default(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = _dt.bool_ if isinstance(fill_value, bool) else (
            _dt.int64 if isinstance(fill_value, int) else _dt.get_default_dtype())
    return _leaf(np.full(_size((size,)), fill_value, _dt.as_dtype(dtype).np), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dt.int64 if is_int else _dt.get_default_dtype()
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return _leaf(np.arange(start, end, step).astype(_dt.as_dtype(dtype).np), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _leaf(np.linspace(start, end, int(steps)).astype(_dtype_or_default(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    return _leaf(np.logspace(start, end, int(steps), base=base).astype(_dtype_or_default(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _leaf(np.eye(n, m, dtype=_dtype_or_default(dtype)), requires_grad)


def _gen(generator):
    return (generator or default_generator())._np


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    dt = _dtype_or_default(dtype)
    return _leaf(_gen(generator).random(_size(size), dtype=dt if dt in (np.float32, np.float64) else np.float64)
                 .astype(dt, copy=False), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    dt = _dtype_or_default(dtype)
    return _leaf(_gen(generator).standard_normal(_size(size), dtype=dt if dt in (np.float32, np.float64)
                                                 else np.float64).astype(dt, copy=False), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high          # randint(high, size), as torch
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing the 'size' argument (a tuple), e.g. randint(0, 10, (3,))")
    return _leaf(_gen(generator).integers(low, high, size=_size((size,))).astype(_dtype_or_default(dtype, _dt.int64)),
                 requires_grad)


def randperm(n, generator=None, dtype=None, device=None):
    return _make(_gen(generator).permutation(int(n)).astype(_dtype_or_default(dtype, _dt.int64)))


def normal(mean, std, size=None, generator=None):
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = np.broadcast_shapes(np.shape(m), np.shape(s)) if size is None else _size((size,))
    out = _gen(generator).standard_normal(shape) * s + m
    dt = mean._data.dtype if isinstance(mean, Tensor) else _dt.get_default_dtype().np
    return _make(np.asarray(out, dtype=dt))


def bernoulli(p, generator=None):
    probs = p._data if isinstance(p, Tensor) else np.asarray(p)
    return _make((_gen(generator).random(probs.shape) < probs).astype(probs.dtype))


def multinomial(probs, num_samples, replacement=False, generator=None):
    p = probs._data.astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    out = np.stack([_gen(generator).choice(len(r), size=num_samples, replace=replacement, p=r / r.sum())
                    for r in rows])
    return _make(out.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64))


def _like_dtype(x, dtype):
    return _dt.as_dtype(dtype).np if dtype is not None else x._data.dtype


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _leaf(np.zeros(x._data.shape, _like_dtype(x, dtype)), requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _leaf(np.ones(x._data.shape, _like_dtype(x, dtype)), requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return _leaf(np.empty(x._data.shape, _like_dtype(x, dtype)), requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return _leaf(np.full(x._data.shape, fill_value, _like_dtype(x, dtype)), requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False, generator=None):
    return rand(x._data.shape, generator=generator, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False, generator=None):
    return randn(x._data.shape, generator=generator, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randint_like(x, low, high=None, dtype=None, generator=None):
    return randint(low, high, x._data.shape, generator=generator, dtype=dtype or x.dtype)


# ---- device=: chainrule tensors live on the CPU; naming another device raises (as .to('cuda') does) ----
def _checks_device(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.get("device") is not None:
            check_device(kwargs["device"], fn.__name__)
        return fn(*args, **kwargs)
    return wrapper


for _name in __all__ + ["logspace"]:
    if _name != "from_numpy":
        globals()[_name] = _checks_device(globals()[_name])


# ---- Tensor.new_*: a new tensor with this tensor's dtype (and device) unless told otherwise ----
def _new_size(size):
    return size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype (not inferred from the data, as PyTorch)."""
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*_new_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*_new_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return empty(*_new_size(size), dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


for _fn in (new_tensor, new_zeros, new_ones, new_empty, new_full):
    setattr(Tensor, _fn.__name__, _fn)
