"""Gradient clipping: ``clip_grad_norm_`` (rescale all gradients so their joint norm is at most max_norm)
and ``clip_grad_value_`` (clamp each entry), in place on ``p.grad`` as ``torch.nn.utils``."""
import math
import warnings

import numpy as np

from ... import dtypes as _dt
from ...tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(parameters, what="parameters"):
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        return list(parameters)
    except TypeError:
        raise TypeError(f"{what} must be a Tensor or an iterable of Tensors (e.g. model.parameters()), got "
                        f"{type(parameters).__name__}") from None


def _grads(parameters, op):
    out = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, but item {i} is {type(p).__name__}")
        if p.grad is not None:
            out.append(p.grad)
    return out


def _vector_norm(a, p):
    """‖a‖_p over all elements, in a's dtype (as torch.linalg.vector_norm): 2 via one BLAS dot, inf/-inf
    max/min of |a|, 0 the count of non-zeros, else (Σ|a|ᵖ)^(1/p)."""
    a = a.reshape(-1)
    if p == 2.0:
        return np.sqrt(np.dot(a, a))
    if a.size == 0:
        return a.dtype.type(0)
    if p == math.inf:
        return np.max(np.abs(a))
    if p == -math.inf:
        return np.min(np.abs(a))
    if p == 0.0:
        return a.dtype.type(np.count_nonzero(a))
    if p == 1.0:
        return np.sum(np.abs(a))
    return np.sum(np.abs(a) ** p) ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors`` (= the norm of all their elements concatenated), a 0-d Tensor."""
    tensors = [t for t in _as_list(tensors, "tensors") if t is not None]
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return _make(np.array(0.0, dtype=_dt.get_default_dtype().np))
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"get_total_norm: tensors must be Tensors, but item {i} is {type(t).__name__}")
    dtype = np.result_type(*[t._data.dtype for t in tensors])
    norms = np.array([_vector_norm(t._data, norm_type) for t in tensors], dtype=dtype)
    total = np.asarray(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite "
                           f"({float(total)}), so it cannot be clipped. To disable this error and scale the "
                           f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return _make(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every ``p.grad`` by min(1, max_norm / (total_norm + 1e-6)) in place."""
    grads = _grads(_as_list(parameters), "clip_grads_with_norm_")
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(float(total_norm))
    coef = max_norm / (total.reshape(()) + 1e-6)     # in the norm's dtype, as PyTorch
    if coef >= 1.0:                  # clamped to 1: g * 1 == g exactly, skip the pass (a nan coef goes on:
        return                       # a nan norm poisons the grads, as in PyTorch)
    for g in grads:
        np.multiply(g._data, coef, out=g._data, casting="unsafe")
        g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` in place so that their total ``norm_type``-norm (all
    gradients seen as one vector) is at most ``max_norm``: g ← g · min(1, max_norm / (total + 1e-6)).

    Returns the total norm before clipping (a 0-d Tensor). Parameters without ``.grad`` are skipped.
    ``error_if_nonfinite=True`` raises if the norm is nan/inf instead of scaling by it."""
    parameters = _as_list(parameters)
    grads = _grads(parameters, "clip_grad_norm_")
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn("`chainrule.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`chainrule.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(_as_list(parameters), "clip_grad_value_"):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1
