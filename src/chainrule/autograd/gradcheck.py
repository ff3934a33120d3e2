"""Check analytical gradients against finite differences (as ``torch.autograd.gradcheck``).

The numerical Jacobian comes from central differences, (f(x + eps e_i) - f(x - eps e_i)) / 2 eps, one
input element at a time; the analytical one from one backward pass per output element. Use float64
inputs: in float32 the finite differences themselves are too noisy to judge.
"""
import warnings

import numpy as np

from .engine import grad as _grad
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree; the message says where."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    from ..tensor import Tensor                  # tensor imports autograd, whose __init__ loads gradcheck: a cycle
    out = fn(*inputs)
    return tuple(o for o in _as_tuple(out) if isinstance(o, Tensor))


def _numerical_jacobians(fn, inputs, diff_idx, eps):
    """J[k][i] has shape (output k numel, input i numel)."""
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for i in diff_idx] for o in outs]
    with no_grad():
        for col, i in enumerate(diff_idx):
            flat = inputs[i]._data.reshape(-1)   # a view: perturb the input in place, then restore
            if flat.size and not np.shares_memory(flat, inputs[i]._data):
                raise GradcheckError(f"gradcheck: input {i} must be contiguous")
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                plus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
                flat[j] = orig - eps
                minus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
                flat[j] = orig
                for k in range(len(outs)):
                    jac[k][col][:, j] = (plus[k] - minus[k]) / (2 * eps)
    return jac


def _analytical_jacobians(fn, inputs, diff_idx):
    from ..tensor import _make                   # tensor imports autograd, whose __init__ loads gradcheck: a cycle
    outs = _outputs(fn, inputs)
    diff_inputs = [inputs[i] for i in diff_idx]
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for i in diff_idx] for o in outs]
    for k, o in enumerate(outs):
        if not o._requires_grad:
            continue
        for r in range(o._data.size):
            seed = np.zeros(o._data.size, o._data.dtype)
            seed[r] = 1
            gs = _grad(o, diff_inputs, grad_outputs=_make(seed.reshape(o._data.shape)), retain_graph=True,
                       allow_unused=True)
            for col, g in enumerate(gs):
                if g is not None:
                    jac[k][col][r, :] = g._data.reshape(-1)
    return jac


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, fast_mode=False):
    """True if ``fn``'s backward agrees with finite differences for every input that requires grad.

    On disagreement raises ``GradcheckError`` naming the output, the input and the element (or returns
    False with ``raise_exception=False``)."""
    from ..tensor import Tensor                  # tensor imports autograd, whose __init__ loads gradcheck: a cycle
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: expected at least one input tensor with requires_grad=True")
    for i in diff_idx:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; finite differences in low "
                          f"precision are unreliable", stacklevel=2)
    numerical = _numerical_jacobians(fn, inputs, diff_idx, eps)
    analytical = _analytical_jacobians(fn, inputs, diff_idx)
    for k, (num_k, ana_k) in enumerate(zip(numerical, analytical)):
        for col, (n, a) in enumerate(zip(num_k, ana_k)):
            bad = ~np.isclose(a, n, rtol=rtol, atol=atol, equal_nan=True)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                i = diff_idx[col]
                shape_i = inputs[i]._data.shape
                elem = np.unravel_index(c, shape_i) if shape_i else ()
                msg = (f"Jacobian mismatch for output {k} with respect to input {i}: at input element "
                       f"{tuple(int(e) for e in elem)} and output element {int(r)}, numerical "
                       f"{n[r, c]:.10g} vs analytical {a[r, c]:.10g} ({int(bad.sum())} of {bad.size} entries "
                       f"differ; atol={atol}, rtol={rtol}).\nnumerical:\n{n}\nanalytical:\n{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, nondet_tol=0.0, check_undefined_grad=True, fast_mode=False):
    """Check second derivatives: gradcheck of (inputs, v) -> v · d fn / d inputs, built with create_graph."""
    from ..tensor import Tensor, _make           # tensor imports autograd, whose __init__ loads gradcheck: a cycle
    inputs = _as_tuple(inputs)
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_make(rng.standard_normal(o._data.shape).astype(o._data.dtype)).requires_grad_()
                             for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    n_in = len(inputs)

    def first_grads(*args):
        # gradcheck evaluates its function under no_grad for the finite differences, but the first
        # gradient can only be taken through a recorded graph: record it here in any case.
        with enable_grad():
            xs, vs = args[:n_in], args[n_in:]
            ys = _outputs(fn, xs)
            gs = _grad(ys, [xs[i] for i in diff_idx], grad_outputs=vs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
