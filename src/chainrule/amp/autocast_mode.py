"""``autocast``: mixed precision as PyTorch's CPU autocast computes it.

Inside ``with autocast(device_type="cpu", dtype=chainrule.float16):``

* **lower-precision ops** (linear, matmul/mm/bmm, conv1d/conv2d): their floating inputs are rounded to
  ``dtype`` and the product is accumulated in float32, then the result is rounded to ``dtype`` - the
  numerics of a float16 GEMM with a float32 accumulator. With float16 the result *is* a float16 tensor
  (as PyTorch); with bfloat16 (needs ``ml_dtypes``) it is a float32 tensor holding bfloat16-rounded values,
  because NumPy's bfloat16 is a storage type chainrule does not differentiate through.
* **float32 ops** (cross_entropy, nll_loss, mse_loss, binary_cross_entropy[_with_logits]): low-precision
  inputs are cast up to float32 first.
* everything else runs in the dtype of its inputs.

Gradients flow through the roundings (each rounds the gradient too, as a float16 backward would).
Outside autocast - or with ``enabled=False`` - the wrapped ops cost one flag check.
"""
import functools
import threading
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Op
from ..tensor import Tensor

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "lower_precision", "float32_precision"]


class _AutocastState(threading.local):
    """Per thread, as PyTorch's autocast state."""

    def __init__(self):
        self.enabled = False
        self.dtype = _dt.float16


STATE = _AutocastState()


class RoundTo(Op):
    """y = x rounded to a lower precision (float16 / bfloat16), kept in x's dtype;   dL/dx = g rounded the same
    way (the gradient of a cast is the gradient, cast back)."""
    __slots__ = ("low",)

    @staticmethod
    def forward(ctx, x, low):
        ctx.low = low
        return x.astype(low).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return (RoundTo.apply(g, low=ctx.low),)


def _round(x, low):
    if isinstance(x, Tensor) and x._data.dtype.kind == "f":
        return RoundTo.apply(x._cast(_dt.float32), low=low)     # float32 accumulation
    return x


def lower_precision(fn):
    """Wrap op ``fn`` (linear, matmul, conv): under autocast, inputs rounded, float32 accumulate, output rounded."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if not STATE.enabled:
            return fn(*args, **kwargs)
        low_dt = STATE.dtype
        low = low_dt.np if type(low_dt) is _dt.dtype else np.float16
        out = fn(*[_round(a, low) for a in args], **{k: _round(v, low) for k, v in kwargs.items()})
        if low_dt is _dt.float16:
            return out._cast(_dt.float16)
        return RoundTo.apply(out, low=low)                        # bfloat16: values rounded, float32 dtype
    return op


def float32_precision(fn):
    """Wrap op ``fn`` (losses): under autocast, low-precision floating inputs are cast up to float32."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if not STATE.enabled:
            return fn(*args, **kwargs)

        def up(x):
            return x._cast(_dt.float32) if isinstance(x, Tensor) and x._data.dtype == np.float16 else x
        return fn(*[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})
    return op


class autocast:
    """``with autocast(device_type="cpu", dtype=chainrule.float16):`` (also a decorator). ``dtype`` defaults to
    bfloat16 on the CPU, as PyTorch's. ``device_type="cuda"``: no CUDA here, so - as PyTorch on a machine
    without CUDA - a warning and autocast stays disabled."""

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected device_type as a string like 'cpu', got {device_type!r}")
        self.device = device_type
        self.fast_dtype = None
        if enabled and device_type != "cpu":
            warnings.warn(f"User provided device_type of '{device_type}', but {device_type} is not available "
                          f"(chainrule runs on the CPU). Disabling autocast.", UserWarning, stacklevel=2)
            enabled = False
        if enabled:
            d = _dt.as_dtype(dtype if dtype is not None else "bfloat16")
            if d not in (_dt.float16, _dt.bfloat16):
                raise RuntimeError(f"autocast: in CPU autocast, but the target dtype {d} is not supported; "
                                   f"CPU autocast supports chainrule.float16 and chainrule.bfloat16")
            self.fast_dtype = d
        self._enabled = bool(enabled)

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.dtype)
        if self._enabled:
            STATE.enabled, STATE.dtype = True, self.fast_dtype
        else:
            STATE.enabled = False
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.dtype = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def is_autocast_enabled(device_type=None):
    return STATE.enabled


def get_autocast_dtype(device_type="cpu"):
    return STATE.dtype
