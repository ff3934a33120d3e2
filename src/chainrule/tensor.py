"""Tensor: an n-d array (``_data``, a NumPy array), and, when it requires grad, the node that made it.

Everything differentiable lives in ``chainrule.ops`` (forward and backward side by side) and is attached
as a method at the bottom of this file. This file holds only the data structure and its plain methods.
"""
import weakref

import numpy as np

from . import dtypes as _dt
from . import printing as _printing
from .autograd import engine as _engine
from .autograd import function as _function
from .autograd.function import RemovableHandle
from .device import CPU, _TYPES, check_device, device

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """A tensor's shape: a tuple with PyTorch's ``torch.Size`` niceties."""
    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"chainrule.Size({list(self)})"


class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate through them.

    ``_data``            the values (a NumPy array; any array module with the same API could flow through)
    ``grad``             the accumulated gradient dL/dself (a Tensor), filled by ``backward()``
    ``grad_fn``          the node that made this tensor (None for leaves)
    ``_vc``              version counter shared with views: in-place writes bump it, so backward can tell
                         that a value it saved was overwritten
    """
    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_vc", "_hooks", "__weakref__")
    __array_ufunc__ = None          # make `ndarray * tensor` defer to Tensor.__rmul__
    __array_priority__ = 1000

    def __init__(self, data=(), dtype=None, requires_grad=False):
        from .creation import _to_array          # creation imports tensor: a cycle
        arr = _to_array(data, dtype if dtype is not None else _dt.get_default_dtype(), float_default=True)
        self._data = arr
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._vc = [0]
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ attributes
    @property
    def data(self):
        """The values as a Tensor outside the graph (sharing memory). Writes to it are not tracked."""
        return _make(self._data, False, None, None)

    @data.setter
    def data(self, value):
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False): you can only change requires_grad of leaf tensors; "
                               "use .detach() to get a tensor outside the graph")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients; this one is "
                               f"{self.dtype}. Fix: create it with dtype=chainrule.float32 or call .float()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[dim]

    @property
    def dtype(self):
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted to a Python number; "
                             f"this one has shape {tuple(self._data.shape)} ({self._data.size} elements)")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {tuple(self._data.shape)}); use .any() or .all()")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    def __repr__(self):
        arr = self._data
        kind = arr.dtype.kind
        opts = {"separator": ", ", "prefix": "tensor(", **_printing.array2string_options()}
        if kind == "f":
            opts["formatter"] = {"float_kind": _printing.float_formatter(arr)}
        elif kind == "b" and arr.all():         # NumPy pads 'True' to the width of a 'False' not there
            opts["formatter"] = {"bool": lambda v: "True"}
        body = np.array2string(arr, **opts) if arr.size else "[]"
        suffixes = []
        default = _dt.get_default_dtype().np      # as PyTorch: the dtype is shown unless values imply it
        if arr.size == 0:
            if arr.ndim != 1:
                suffixes.append(f"size={tuple(arr.shape)}")
            if arr.dtype != default:
                suffixes.append(f"dtype={self.dtype}")
        elif arr.dtype != default and arr.dtype not in (np.int64, np.bool_):
            suffixes.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return f"tensor({_printing.with_suffixes(body, suffixes)})"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support deepcopy; "
                               "call .detach() first")
        new = _make(self._data.copy(), self._requires_grad, None, None)
        if type(self) is not Tensor:
            new.__class__ = type(self)
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    # ------------------------------------------------------------------ graph
    def detach(self):
        """Same values (shared memory and version counter), cut from the graph."""
        return _make(self._data, False, None, self._vc)

    def detach_(self):
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` for a non-leaf tensor too (leaves always keep it)."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
            return
        self.grad_fn._retain = weakref.ref(self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn._retain is not None and self.grad_fn._retain() is self

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None``: called with this tensor's gradient; a returned Tensor replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this tensor: add d(self)/d(leaf) (times ``gradient``) into every leaf's ``.grad``."""
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ dtype conversion (differentiable)
    def to(self, *args, **kwargs):
        """``.to(dtype)``, ``.to(device)``, ``.to(other)``: the CPU is the only device; another raises."""
        dtype = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        check_device(kwargs.pop("device", None))
        if kwargs:
            raise TypeError(f"to(): unexpected keyword argument(s) {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, device) or isinstance(a, str) and a.split(":")[0] in _TYPES:
                check_device(a)
            elif a is not None:
                dtype = a
        if dtype is None:
            return self.clone() if copy else self
        return self._cast(_dt.as_dtype(dtype), copy)

    def _cast(self, dtype, copy=False):
        from .ops.arithmetic import cast         # the ops import tensor: a cycle
        if dtype.np == self._data.dtype and not copy:
            return self
        return cast(self, dtype)

    def type(self, dtype=None):
        if dtype is None:
            return f"chainrule.{self.dtype.name.capitalize()}Tensor"
        return self._cast(_dt.as_dtype(dtype))

    def type_as(self, other):
        return self._cast(other.dtype)

    def float(self):
        return self._cast(_dt.float32)

    def double(self):
        return self._cast(_dt.float64)

    def half(self):
        return self._cast(_dt.float16)

    def long(self):
        return self._cast(_dt.int64)

    def int(self):
        return self._cast(_dt.int32)

    def bool(self):
        return self._cast(_dt.bool_)

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        check_device("cuda")

    def contiguous(self):
        if self._data.flags.c_contiguous:
            return self
        out = self.clone()
        out._data = np.ascontiguousarray(out._data)   # clone() copies with NumPy's order='K' (keeps strides)
        return out


def _make(data, requires_grad=False, grad_fn=None, vc=None):
    """Fast constructor used by every op: no conversion, no checks."""
    t = Tensor.__new__(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._vc = [0] if vc is None else vc
    t._hooks = None
    return t


def _to_tensor(x):
    if isinstance(x, Tensor):
        return x
    from .creation import tensor                 # creation imports tensor: a cycle
    return tensor(x)


_function._bind(Tensor, _make, _to_tensor)

# ---- the differentiable methods and operators; each is defined with its backward rule in chainrule/ops ----
from . import tensor_methods as _methods  # noqa: E402  (the ops import Tensor from this module)

_methods.attach(Tensor)
