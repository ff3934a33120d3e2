"""Dropout (inverted): y = x · m / (1 - p) with m ~ Bernoulli(1 - p) drawn from the global generator
(``chainrule.manual_seed``), so the expected value of y is x and eval mode is the identity.
"""
import warnings

import numpy as np

from ..autograd.function import Op
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._util import dropout_keep_mask
from .arithmetic import scale_by
from .inplace import copy_

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


class Dropout(Op):
    """y = x · s, s = m / (1 - p) a fixed random mask (broadcast against x);   dL/dx = g · s"""
    __slots__ = ("scale",)

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x * scale

    @staticmethod
    def backward(ctx, g):
        return (scale_by(g, ctx.scale),)


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _dropout(x, p, training, mask_shape, op):
    _check_p(p, op)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a chainrule Tensor, got {type(x).__name__}")
    if not training or p == 0.0 or x._data.size == 0:
        return x                                      # as PyTorch: the input itself
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {x.dtype}. Fix: call .float() first")
    return Dropout.apply(x, scale=dropout_keep_mask(mask_shape, p, x._data.dtype))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity when not training)."""
    out = _dropout(input, p, training, getattr(input, "shape", ()), "dropout")
    return _inplace_result(input, out) if inplace else out


def _channel_dropout(input, p, training, inplace, spatial, op):
    """Zero whole channels: one draw per (N, C) (or per C for an unbatched (C, *) input)."""
    x = input
    nd = x.ndim
    if nd not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected a {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input, "
                         f"got shape {tuple(x.shape)}")
    lead = 1 if nd == spatial + 1 else 2
    mask_shape = tuple(x.shape[:lead]) + (1,) * spatial
    out = _dropout(x, p, training, mask_shape, op)
    return _inplace_result(input, out) if inplace else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    if input.ndim == 2:                             # PyTorch (deprecated): a warning, then element-wise dropout
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
                      "with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", UserWarning, stacklevel=2)
        return dropout(input, p, training, inplace)
    if input.ndim == 3:                             # PyTorch's legacy behaviour: (N, C, L) -> 1-D channel dropout
        warnings.warn("dropout2d: received a 3D input; as PyTorch, it is taken as (N, C, L) and whole (n, c) "
                      "rows are dropped (1-D channel dropout). Use dropout1d for that explicitly.", stacklevel=2)
        return _channel_dropout(input, p, training, inplace, 1, "dropout2d")
    return _channel_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 3, "dropout3d")


def _inplace_result(x, out):
    if out is x:
        return x
    return copy_(x, out)
