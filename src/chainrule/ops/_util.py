"""Helpers shared by the ops: the array module of an input, operand promotion, dim normalisation, and the
raw-array kernels more than one op family needs (each written once, here)."""
import numpy as np

from .. import _parallel
from .. import dtypes as _dt
from ..random import default_generator
from ..tensor import Tensor, _make

_NUMBER = (int, float, bool)


def xp_of(a):
    """The array module that owns ``a`` (NumPy, or e.g. CuPy), so one op body serves both."""
    if type(a) is np.ndarray or not hasattr(a, "__array_namespace__"):
        return np
    return a.__array_namespace__()


def as_tensor(x, dtype=None):
    """Anything array-like -> a constant Tensor (Tensors pass through)."""
    if isinstance(x, Tensor):
        return x
    from ..creation import tensor                # creation imports tensor, which loads the ops: a cycle
    return tensor(x, dtype=dtype)


def operands(a, b):
    """Bring two operands of an elementwise op to one dtype by PyTorch's promotion rules.

    Returns Tensors, except that a Python number stays a number when the tensor's dtype already
    absorbs it (NumPy then keeps the tensor's dtype) - the cheap, common case ``x * 2``."""
    a_is_t = isinstance(a, Tensor)
    b_is_t = isinstance(b, Tensor)
    if a_is_t and b_is_t:
        if a._data.dtype == b._data.dtype:
            return a, b
        dt = _dt.result_type(a, b)
        return a._cast(dt), b._cast(dt)
    if a_is_t:
        b = _number(b)
        if not isinstance(b, _NUMBER):
            return operands(a, as_tensor(b))
        a = _absorb(a, b)
        return a, _fit(a, b)
    if b_is_t:
        a = _number(a)
        if not isinstance(a, _NUMBER):
            return operands(as_tensor(a), b)
        b = _absorb(b, a)
        return _fit(b, a), b
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return a, b                  # raw arrays (a backward rule at first order): NumPy's promotion
    return as_tensor(a), as_tensor(b)


def _number(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray) and x.ndim == 0 and not isinstance(x, Tensor):
        return x.item()
    return x


def _absorb(t, scalar):
    """Cast tensor ``t`` when a Python scalar of a higher category (bool < int < float) meets it."""
    kind = t._data.dtype.kind
    if kind == "f":
        return t
    if isinstance(scalar, float):
        return t._cast(_dt.get_default_dtype())
    if kind == "b" and not isinstance(scalar, bool):
        return t._cast(_dt.int64)
    return t


def _fit(t, scalar):
    """A Python int outside an integer tensor's range wraps around to its dtype, as PyTorch
    (``uint8 tensor + 1000`` adds 232); NumPy would raise an OverflowError instead."""
    dt = t._data.dtype
    if type(scalar) is int and dt.kind in "iu":
        info = np.iinfo(dt)
        if not info.min <= scalar <= info.max and -2 ** 63 <= scalar < 2 ** 63:
            bits = 8 * dt.itemsize
            v = scalar % 2 ** bits
            return dt.type(v - 2 ** bits if dt.kind == "i" and v >= 2 ** (bits - 1) else v)
    return scalar


def shape_of(x):
    """The shape of a Tensor, an array or a number (``()``) - either carrier of a backward rule."""
    if type(x) is np.ndarray:
        return x.shape
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def zeros_like(x):
    """A constant zero of x's shape and dtype on x's carrier (recorded nowhere: nothing flows through it)."""
    z = np.zeros_like(data_of(x))
    return _make(z) if isinstance(x, Tensor) else z


def is_number(x):
    """A Python number or NumPy scalar (a saved input that was not an array or Tensor)."""
    return isinstance(x, (_NUMBER, np.generic))


def is_tensor(x):
    return isinstance(x, Tensor)


def data_of(x):
    """The array under either carrier (a Tensor's data, or the array itself)."""
    return x._data if isinstance(x, Tensor) else x


def dtype_of(x):
    """The NumPy dtype of a Tensor or an array."""
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def cast_to(x, np_dtype):
    """``x`` in NumPy dtype ``np_dtype`` on its own carrier (a recorded cast for Tensors)."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == np_dtype else x._cast(_dt.from_numpy_dtype(np.dtype(np_dtype)))
    return x if x.dtype == np_dtype else x.astype(np_dtype)


def norm_dim(dim, ndim, op="op"):
    """Normalise ``dim`` (int, tuple, list or None) to a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    out = []
    n = max(ndim, 1)
    for d in dim:
        if not -n <= d < n:
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
                             f"(expected to be in range [{-n}, {n - 1}])")
        out.append(d % n if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dimension list {tuple(dim)} names a dimension more than once")
    return tuple(sorted(out))


def norm_axis(d, ndim, op="op"):
    """One dim -> non-negative axis, with a clear error."""
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
                         f"(expected to be in range [{-n}, {n - 1}])")
    return d % n


def wrap(arr):
    return _make(np.asarray(arr) if not isinstance(arr, np.ndarray) else arr)


# ------------------------------------------------------------------------- raw-array kernels shared by ops
def broadcast_array(x, shape):
    """``np.broadcast_to(x, shape)``, a read-only view, without its Python-level cost (~4 µs: more than a
    small op itself). The strides are computed here for a C-contiguous array (a broadcast dim gets stride
    0); anything else, and every shape error, goes through NumPy."""
    nd = x.ndim
    lead = len(shape) - nd
    if type(x) is not np.ndarray or not x.flags.c_contiguous or lead < 0 or x.size == 0:
        return np.broadcast_to(x, shape)
    strides = [0] * lead
    for n, m, st in zip(x.shape, shape[lead:], x.strides):
        if n == m:
            strides.append(st)
        elif n == 1:
            strides.append(0)
        else:
            return np.broadcast_to(x, shape)           # raises NumPy's error
    return np.ndarray(shape, x.dtype, memoryview(x).toreadonly(), 0, tuple(strides))


def sum_to_array(a, shape):
    """Sum the raw array ``a`` down to ``shape`` (undo broadcasting). Summing away only leading dims (a
    weight broadcast over the batch) is a vector-matrix product: ~10x faster than ``a.sum(0)``."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    lead = a.ndim - len(shape)
    if a.flags.c_contiguous and shape == a.shape[lead:] and a.size:
        n = int(np.prod(shape))
        rows = a.reshape(-1, n)
        return (np.ones(rows.shape[0], a.dtype) @ rows).reshape(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
    out = a.sum(axis=axes, keepdims=True) if axes else a
    return out.reshape(shape)


def _exp_raise_on_overflow(x, out):
    # (errstate is per thread: set here, in whichever thread of the pool runs the block). The ufunc fills
    # all of ``out`` before NumPy checks the overflow flag and raises: inf where e^x overflowed.
    with np.errstate(over="raise"):
        return np.exp(x, out=out)


def sigmoid_array(x):
    """σ(x) = 1 / (1 + e^-x) on an array, in 4 passes (exp dominates). e^-x overflows only where
    x < -88.7 (float32) / -709 (float64), where σ is subnormal: those elements are recomputed as e^x,
    which is σ there to the last bit - full relative precision in both tails (σ(-40) = 4.2e-18,
    σ(-100) = 3.8e-44 in float32, as PyTorch). Whether any overflowed is the FPU's overflow flag, read by
    NumPy after the exp (``errstate(over="raise")``): free, where scanning the result cost 15 % of a
    (32, 128) sigmoid."""
    if type(x) is not np.ndarray or x.dtype.kind != "f":
        xp = xp_of(x)                          # other array types (bfloat16 via ml_dtypes...): 3 passes more
        e = xp.exp(-xp.abs(x))
        r = 1 / (1 + e)
        return xp.where(x >= 0, r, e * r)
    e = np.negative(x)
    if type(e) is not np.ndarray:              # (a 0-d x gives a NumPy scalar)
        e = np.asarray(e)
    try:
        _parallel.transcendental(_exp_raise_on_overflow, e, out=e)
        overflowed = False
    except FloatingPointError:                 # e holds inf there (and every other element is done)
        overflowed = True
    e += 1
    r = np.reciprocal(e, out=e)
    if overflowed:
        under = r == 0
        r[under] = np.exp(x[under])
    return r


def dropout_keep_mask(shape, p, dtype, generator=None):
    """Inverted dropout's multiplier of ``shape`` in ``dtype``: 1/(1-p) with probability 1-p, else 0 (p = 1:
    all zeros), drawn from ``generator`` (default: the global one, ``chainrule.manual_seed``)."""
    dtype = np.dtype(dtype)
    if p >= 1.0:
        return np.zeros(shape, dtype)
    rng = (generator or default_generator())._np
    u = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    keep = u >= p                          # a bool times a scalar is ~7x faster than np.where here
    return np.multiply(keep, dtype.type(1.0 / (1.0 - p)), dtype=dtype)
