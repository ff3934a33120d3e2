"""Distances and similarities built from differentiable ops: normalize, cosine_similarity."""
import numpy as np

from ..errors import ShapeError
from ..tensor import _make
from ._util import norm_axis, operands
from .arithmetic import clamp
from .reduce import norm
from .shape import broadcast_tensors

__all__ = ["normalize", "cosine_similarity"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(‖x‖_p, eps) along ``dim`` (so a zero vector stays zero instead of becoming nan)."""
    d = norm_axis(dim, input.ndim, "normalize")
    denom = clamp(norm(input, p, d, keepdim=True), min=eps)
    return input / denom


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ (x1/‖x1‖)(x2/‖x2‖) along ``dim``, each norm clamped below at ``eps``.

    As PyTorch, the clamp changes the norm's value only - it is not part of the graph - so the gradient
    is that of x1·x2 / (‖x1‖ ‖x2‖) with the clamped norms plugged in."""
    x1, x2 = operands(x1, x2)
    if x1._data.dtype.kind != "f":
        x1, x2 = x1.float(), x2.float()
    try:
        x1, x2 = broadcast_tensors(x1, x2)
    except (ValueError, RuntimeError):
        raise ShapeError(f"cosine_similarity: the inputs' shapes {tuple(x1.shape)} and {tuple(x2.shape)} "
                         f"cannot be broadcast together") from None
    d = norm_axis(dim, x1.ndim, "cosine_similarity")

    def clamped_norm(x):
        n = norm(x, 2, d, keepdim=True)
        lift = np.maximum(n._data, eps) - n._data     # a constant: value clamped, gradient untouched
        return n + _make(lift.astype(n._data.dtype, copy=False))

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(d)
