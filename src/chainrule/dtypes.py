"""dtypes and PyTorch's type-promotion rules.

A chainrule dtype is a thin named wrapper around a NumPy dtype. Promotion follows PyTorch, not NumPy:
``int64 tensor + 2.5 -> float32`` (NumPy says float64), ``float32 tensor + float64 0-d tensor -> float32``.
"""
import numpy as np

__all__ = ["dtype", "bfloat16", "float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool_",
           "get_default_dtype", "set_default_dtype", "as_dtype", "result_type", "promote_types"]


class dtype:
    """A tensor element type, e.g. ``chainrule.float32``."""
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category        # 0 bool, 1 integer, 2 floating: promotion happens across categories
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "if"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"chainrule.{self.name}"

    def __reduce__(self):  # copy/deepcopy keep the singleton
        return (as_dtype, (self.name,))


float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
bool_ = dtype("bool", np.bool_, 0)


class _MissingDtype:
    """``chainrule.bfloat16`` when the ``ml_dtypes`` package (NumPy's bfloat16) is not installed: a name
    that says how to get it as soon as it is used."""
    name = "bfloat16"
    is_floating_point = True

    def __repr__(self):
        return "chainrule.bfloat16 (unavailable: needs ml_dtypes)"

    def error(self):
        return TypeError('bfloat16 needs the ml_dtypes package (NumPy has no bfloat16 of its own): '
                         'pip install "chainrule[bfloat16]"')


def _bfloat16():
    """bfloat16 through ml_dtypes when installed (an honest 8-bit-mantissa float NumPy can compute with)."""
    try:
        import ml_dtypes
    except ImportError:
        return _MissingDtype()
    return dtype("bfloat16", ml_dtypes.bfloat16, 2)


class _FromNumPy(dict):
    """NumPy dtype -> chainrule dtype; bfloat16 joins on first sight (ml_dtypes is slow to import)."""

    def __missing__(self, np_dtype):
        if getattr(np_dtype, "name", None) == "bfloat16" and type(_load_bfloat16()) is dtype:
            return self[np_dtype]
        raise KeyError(np_dtype)


_ALL = [float16, float32, float64, uint8, int8, int16, int32, int64, bool_]
_FROM_NP = _FromNumPy({d.np: d for d in _ALL})
_ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
            "short": int16, "bool": bool_, "float16": float16, "float32": float32, "float64": float64,
            "uint8": uint8, "int8": int8, "int16": int16, "int32": int32, "int64": int64}


def _load_bfloat16():
    """``chainrule.bfloat16``, made on first use: importing ml_dtypes costs more than importing NumPy."""
    bf16 = globals().get("bfloat16")
    if bf16 is None:
        bf16 = globals()["bfloat16"] = _bfloat16()
        _ALIASES["bfloat16"] = bf16
        if type(bf16) is dtype:
            _ALL.append(bf16)
            _FROM_NP[bf16.np] = bf16
    return bf16


def __getattr__(name):
    if name == "bfloat16":
        return _load_bfloat16()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PY_TYPES = {float: float64, int: int64, bool: bool_}   # what a Python type names when passed as a dtype

_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    """Set the dtype that Python floats become (float32 or float64), as ``torch.set_default_dtype``."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d


def as_dtype(d):
    """Accept a chainrule dtype, a NumPy dtype/type, a Python type or a name; return the chainrule dtype."""
    if type(d) is dtype:
        return d
    if isinstance(d, str) and d == "bfloat16":
        d = _load_bfloat16()
    if type(d) is _MissingDtype:
        raise d.error()
    if type(d) is dtype:
        return d
    if isinstance(d, str):
        if d in _ALIASES:
            return _ALIASES[d]
    elif d in _PY_TYPES:
        return _PY_TYPES[d]
    try:
        return _FROM_NP[np.dtype(d)]
    except (TypeError, KeyError):
        names = ", ".join(sorted({x.name for x in _ALL}))
        raise TypeError(f"unsupported dtype {d!r}; chainrule supports {names}") from None


def from_numpy_dtype(np_dtype):
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        raise TypeError(f"NumPy dtype {np_dtype} has no chainrule equivalent; convert the array with "
                        f".astype(np.float32) (or int64/bool) first") from None


def promote_types(a, b):
    """PyTorch's promote_types: across categories the higher category wins (int64 + float16 -> float16);
    within a category the wider type wins."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    if {a, b} == {uint8, int8}:
        return int16
    if {a.name, b.name} == {"float16", "bfloat16"}:            # neither holds the other: PyTorch meets them at float32
        return float32
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _scalar_dtype(x):
    """The dtype a Python scalar asks for when it must decide the category (bool < int < float)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    return _default_float


def result_type(*operands):
    """The dtype of an elementwise op on tensors and Python scalars, by PyTorch's three-priority rule:
    tensors with dimensions decide; a 0-d tensor or a Python scalar only matters when it is of a higher
    category (bool < integer < floating) than everything above it, and then a Python float means the
    default float dtype."""
    dim_t = zero_t = scalar_t = None
    for x in operands:
        if isinstance(x, (int, float)):         # bool is an int
            d = _scalar_dtype(x)
            scalar_t = d if scalar_t is None else promote_types(scalar_t, d)
        else:
            d = _FROM_NP[x._data.dtype]
            if x._data.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
    result = dim_t
    for lower in (zero_t, scalar_t):
        if lower is None:
            continue
        if result is None:
            result = lower
        elif lower._category > result._category:
            result = promote_types(result, lower)
    return result


class finfo:
    """Limits of a floating dtype, as ``torch.finfo`` (bits, eps, max, min, tiny, resolution...)."""

    def __init__(self, type=None):
        d = as_dtype(type if type is not None else _default_float)
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d} is not a floating point dtype (use iinfo for integers)")
        info = np.finfo(d.np)
        self.dtype, self.bits = d.name, info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(info.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo`` (bits, min, max)."""

    def __init__(self, type):
        d = as_dtype(type)
        if d.is_floating_point:
            raise TypeError(f"iinfo: {d} is not an integer dtype (use finfo for floating point)")
        info = np.iinfo(d.np) if d.np.kind != "b" else None
        self.dtype, self.bits = d.name, d.itemsize * 8
        self.min, self.max = (int(info.min), int(info.max)) if info else (0, 1)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
