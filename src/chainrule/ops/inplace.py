"""In-place ops (``add_``, ``mul_``, ``zero_``, ``uniform_``, ``x[i] = v`` ...).

Every in-place write bumps the tensor's version counter, so a backward that saved the old value raises
instead of silently using the new one. Outside recording (optimisers, init) the write goes straight into
the array. While recording, an in-place op on a non-leaf is computed out of place and the tensor is
re-based onto the new node (its history now ends with this op), as PyTorch does.
"""
import numpy as np

from ..autograd.function import VIEWS
from ..autograd.grad_mode import STATE, no_grad
from ..errors import DTypeError
from ..random import default_generator
from ..tensor import Tensor
from ._util import as_tensor
from .arithmetic import add, mul
from .index import _describe_key, index_put, normalize_key
from .shape import expand


def _check_writable(x, op):
    if not x._data.flags.writeable:
        raise RuntimeError(f"{op}: this tensor's memory is read-only (it is an expand()/broadcast view); "
                           f"in-place writes would change several elements at once. Call .clone() first.")


def _recording(x, *others):
    return STATE.grad_enabled and (x._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                                            for o in others))


def _rebase(x, op, compute):
    """In-place op while recording: y = compute(x_old) out of place, then x takes y's values and history."""
    if x.grad_fn is None and x._requires_grad:
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation. "
                           f"Wrap the update in `with chainrule.no_grad():` (as optimisers do), or use the "
                           f"out-of-place op.")
    if x.grad_fn is not None and type(x.grad_fn).is_view and getattr(x.grad_fn, "basic", True):
        # (an Index node with an integer-array or mask key made a copy, not a view: that one is fine)
        raise RuntimeError(f"{op}: in-place modification of a view of a tensor that requires grad is not "
                           f"supported by chainrule; use the out-of-place op (e.g. y = x.clone(); y[...] = v).")
    VIEWS.rebased = True         # from now on, recording checks for views taken before this write
    old = Tensor.__new__(Tensor)              # the old value, as it was, for the new node to consume
    old._data, old._requires_grad, old.grad, old.grad_fn = x._data.copy(), x._requires_grad, None, x.grad_fn
    old._vc, old._hooks = [0], None
    y = compute(old)
    if y._data.dtype != x._data.dtype:
        if not np.can_cast(y._data.dtype, x._data.dtype, "same_kind"):
            raise DTypeError(f"{op}: result type {y._data.dtype} can't be cast to the desired output type "
                             f"{x._data.dtype} of the in-place op. Fix: use the out-of-place op, or convert "
                             f"this tensor first.")
        y = y._cast(x.dtype)
    _check_writable(x, op)
    np.copyto(x._data, y._data)
    x._vc[0] += 1
    x.grad_fn = y.grad_fn
    x._requires_grad = y._requires_grad
    if y.grad_fn is not None and y.grad_fn._out is not None:   # the node's saved output is x's memory now
        y.grad_fn._out, y.grad_fn._out_vc, y.grad_fn._out_version = x._data, x._vc, x._vc[0]
    return x


def _write(x, op, values, casting="same_kind"):
    """Store ``values`` (an array broadcastable to x) into x without recording."""
    _check_writable(x, op)
    try:
        np.copyto(x._data, values, casting=casting)
    except TypeError:
        raise DTypeError(f"{op}: result type {np.result_type(values)} can't be cast to the desired output "
                         f"type {x._data.dtype} of the in-place op. Fix: use the out-of-place op, or convert "
                         f"the operand first.") from None
    except ValueError as exc:
        raise RuntimeError(f"{op}: the result of shape {np.shape(values)} cannot be written into a tensor of "
                           f"shape {tuple(x.shape)} in place ({exc}); in-place ops cannot change the shape.") \
            from None
    x._vc[0] += 1
    return x


def _binary_inplace(name, out_of_place):
    def op(x, other, *args, **kwargs):
        if _recording(x, other):
            return _rebase(x, name, lambda old: out_of_place(old, other, *args, **kwargs))
        res = out_of_place(x.detach(), other.detach() if isinstance(other, Tensor) else other, *args, **kwargs)
        return _write(x, name, res._data)
    op.__name__ = name
    op.__doc__ = f"In-place ``{name[:-1]}``: writes the result into this tensor and returns it."
    return op


def _unary_inplace(name, out_of_place):
    def op(x, *args, **kwargs):
        if _recording(x):
            return _rebase(x, name, lambda old: out_of_place(old, *args, **kwargs))
        return _write(x, name, out_of_place(x.detach(), *args, **kwargs)._data)
    op.__name__ = name
    return op


def add_(x, other, alpha=1):
    """x += alpha * other, without a temporary when nothing is recorded (the optimiser's hot path)."""
    if _recording(x, other):
        return _rebase(x, "add_", lambda old: add(old, other, alpha=alpha))
    o = other._data if isinstance(other, Tensor) else other
    if alpha != 1:
        o = o * alpha
    _check_writable(x, "add_")
    try:
        np.add(x._data, o, out=x._data, casting="same_kind")
    except TypeError:                     # NumPy's casting error is a TypeError
        raise DTypeError(f"add_: result type of {x._data.dtype} + {np.result_type(o)} can't be cast to "
                         f"{x._data.dtype} in place. Fix: use x = x + other, or convert other first.") from None
    except ValueError as exc:
        raise RuntimeError(f"add_: operand of shape {np.shape(o)} cannot be added in place to a tensor of shape "
                           f"{tuple(x.shape)} ({exc})") from None
    x._vc[0] += 1
    return x


def mul_(x, other):
    if _recording(x, other):
        return _rebase(x, "mul_", lambda old: mul(old, other))
    o = other._data if isinstance(other, Tensor) else other
    _check_writable(x, "mul_")
    try:
        np.multiply(x._data, o, out=x._data, casting="same_kind")
    except TypeError:
        raise DTypeError(f"mul_: result type of {x._data.dtype} * {np.result_type(o)} can't be cast to "
                         f"{x._data.dtype} in place. Fix: use x = x * other, or convert other first.") from None
    except ValueError as exc:
        raise RuntimeError(f"mul_: operand of shape {np.shape(o)} cannot multiply in place a tensor of shape "
                           f"{tuple(x.shape)} ({exc})") from None
    x._vc[0] += 1
    return x


def zero_(x):
    return fill_(x, 0)


def fill_(x, value):
    if _recording(x, value):
        return _rebase(x, "fill_", lambda old: add(old * 0, value))
    v = value._data if isinstance(value, Tensor) else value
    if np.ndim(v) != 0:
        raise RuntimeError(f"fill_: the value must be a number or a 0-d tensor, got shape {np.shape(v)}; "
                           f"use copy_ to write a tensor")
    return _write(x, "fill_", v, casting="unsafe")     # as PyTorch: the number is cast (int.fill_(2.5) -> 2)


def copy_(x, src):
    src = as_tensor(src)
    if _recording(x, src):
        return _rebase(x, "copy_", lambda old: add(old * 0, expand(src._cast(x.dtype), x.shape)))
    _check_writable(x, "copy_")
    try:
        np.copyto(x._data, src._data, casting="unsafe")
    except ValueError:
        raise RuntimeError(f"copy_: source of shape {tuple(src.shape)} is not broadcastable to the destination's "
                           f"shape {tuple(x.shape)}") from None
    x._vc[0] += 1
    return x


def _check_float(x, op):
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: random values need a floating point tensor, this one is {x._data.dtype}. "
                         f"Fix: create it with a float dtype (e.g. dtype=chainrule.float32).")


def uniform_(x, a=0.0, b=1.0, generator=None):
    _check_float(x, "uniform_")
    gen = generator or default_generator()
    with _no_record():
        return _write(x, "uniform_", gen._np.uniform(a, b, size=x._data.shape).astype(x._data.dtype))


def normal_(x, mean=0.0, std=1.0, generator=None):
    _check_float(x, "normal_")
    gen = generator or default_generator()
    with _no_record():
        return _write(x, "normal_", (gen._np.standard_normal(size=x._data.shape) * std + mean).astype(x._data.dtype))


def _no_record():
    """Random init writes are never recorded (as in PyTorch, where init runs under no_grad)."""
    return no_grad()


def setitem(x, key, value):
    """``x[key] = value``. Recorded (differentiable) when x is a non-leaf or value requires grad."""
    if _recording(x, value):
        return _rebase(x, "__setitem__", lambda old: index_put(old, key, value))
    _check_writable(x, "__setitem__")
    v = value._data if isinstance(value, Tensor) else value
    try:
        x._data[normalize_key(key)] = v
    except (ValueError, IndexError, TypeError) as exc:
        raise type(exc)(f"__setitem__: cannot assign a value of shape {np.shape(v)} to tensor{_fmt(key)} "
                        f"of a tensor of shape {tuple(x.shape)}: {exc}") from None
    x._vc[0] += 1


def _fmt(key):
    return _describe_key(normalize_key(key))
