"""Find the first op that turned finite inputs into NaN/Inf, with the source line that called it.

Used only after the monitor saw a non-finite output: the module's forward is replayed once on the same
(finite) inputs while every recorded op's output is checked, so the normal path pays nothing.
"""
import os
import traceback

import numpy as np

from ..autograd.function import VIEWS
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["finite", "first_nonfinite_op", "source_frame"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# frames inside these are the machinery, not the line that asked for the op
_MACHINERY = tuple(_PKG + p for p in ("ops" + os.sep, "autograd" + os.sep, "tensor.py", "insight" + os.sep))


def finite(x):
    """True if a Tensor (or array) of floats holds no NaN/Inf; non-float values count as finite."""
    a = x._data if isinstance(x, Tensor) else x
    return not (isinstance(a, np.ndarray) and a.dtype.kind in "fc") or bool(np.isfinite(a).all())


def source_frame(stack):
    """The innermost frame of ``stack`` outside chainrule's op machinery: 'file:line in func: code'."""
    frames = [f for f in stack if not f.filename.startswith(_MACHINERY)]
    if not frames:
        return "unknown source"
    f = frames[-1]
    return f"{f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}"


def first_nonfinite_op(fn, *args):
    """Replay ``fn(*args)`` (args detached, float ones requiring grad so every op is recorded) and return
    (op name, source) of the first op whose inputs are finite and whose output is not; None if none."""
    found = []

    def spy(ctx, inputs, out):
        if not found and out.dtype.kind in "fc" and not np.isfinite(out).all() \
                and all(finite(x) for x in inputs):
            found.append((type(ctx).__name__, source_frame(traceback.extract_stack()[:-1])))

    replay = [a.detach().requires_grad_(a.is_floating_point()) if isinstance(a, Tensor) else a for a in args]
    previous, VIEWS.observer = VIEWS.observer, spy
    try:
        with enable_grad():
            fn(*replay)
    except Exception:       # a replay that fails tells nothing more; the caller reports what it knows
        pass
    finally:
        VIEWS.observer = previous
    return found[0] if found else None
