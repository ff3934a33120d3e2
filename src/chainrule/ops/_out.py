"""PyTorch's ``out=`` argument: the result is written into a tensor the caller provides.

As in PyTorch: ``out`` takes the result's shape (an empty ``out`` is resized silently, a non-empty one of
another shape is resized with a warning), the result is cast to ``out``'s dtype when that is a safe cast
(float into an integer ``out`` is an error), and ``out=`` is not differentiable - with inputs that require
grad under recording it raises instead of silently cutting the graph.
"""
import warnings

import numpy as np

from ..autograd.grad_mode import STATE
from ..errors import DTypeError
from ..tensor import Tensor


def write_out(result, out, op):
    """Write ``result`` (a Tensor) into ``out`` (a Tensor) and return ``out``; return ``result`` if out is None."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a chainrule Tensor, not {type(out).__name__}")
    if STATE.grad_enabled and (result._requires_grad or out._requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, "
                           f"but one of the arguments requires grad. Fix: call it without out= (y = {op}(...)), "
                           f"or inside `with chainrule.no_grad():`")
    src = result._data
    if not np.can_cast(src.dtype, out._data.dtype, "same_kind"):
        raise DTypeError(f"{op}(): result type {result.dtype.name} can't be cast to the desired output type "
                         f"{out.dtype.name} of out=. Fix: pass an out tensor of dtype {result.dtype.name}")
    if out._data.shape != src.shape:
        if out._data.size:
            warnings.warn(f"{op}(): an output with one or more elements was resized since it had shape "
                          f"{tuple(out.shape)}, which does not match the required output shape "
                          f"{tuple(src.shape)}. This behavior is deprecated (as in PyTorch); pass an out "
                          f"tensor of the right shape or an empty one.", UserWarning, stacklevel=3)
        out._data = np.empty(src.shape, out._data.dtype)
    np.copyto(out._data, src, casting="same_kind")
    out._vc[0] += 1
    return out
