"""Higher-order helpers built on ``grad(create_graph=True)``: vjp, jvp-free Hessian-vector product,
Jacobian and Hessian of small functions (as ``torch.autograd.functional``)."""
import numpy as np

from ..ops.shape import reshape, stack
from ..tensor import _make
from .engine import grad

__all__ = ["vjp", "hvp", "vhp", "jacobian", "hessian"]


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _prep(inputs):
    return tuple(x.detach().requires_grad_() for x in _tuple(inputs))


def vjp(func, inputs, v=None, create_graph=False):
    """(func(inputs), vᵀ J)."""
    xs = _prep(inputs)
    out = func(*xs)
    g = grad(out, xs, v, create_graph=create_graph, allow_unused=True, materialize_grads=True)
    return out, (g if isinstance(inputs, (tuple, list)) else g[0])


def hvp(func, inputs, v, create_graph=False):
    """(func(inputs), H v) for a scalar ``func``: the gradient of (∇f · v), two backward passes."""
    xs = _prep(inputs)
    vs = _tuple(v)
    out = func(*xs)
    gs = grad(out, xs, create_graph=True)
    dot = sum((g * vi).sum() for g, vi in zip(gs, vs))
    hv = grad(dot, xs, create_graph=create_graph, allow_unused=True, materialize_grads=True)
    return out, (hv if isinstance(inputs, (tuple, list)) else hv[0])


vhp = hvp   # the Hessian is symmetric


def jacobian(func, inputs, create_graph=False):
    """Full Jacobian d func / d inputs, one backward per output element (for small functions)."""
    xs = _prep(inputs)
    out = func(*xs)
    rows = [[] for _ in xs]
    for r in range(out._data.size):
        seed = np.zeros(out._data.size, out._data.dtype)
        seed[r] = 1
        gs = grad(out, xs, _make(seed.reshape(out._data.shape)), retain_graph=True, create_graph=create_graph,
                  allow_unused=True, materialize_grads=True)
        for i, g in enumerate(gs):
            rows[i].append(g)
    jac = tuple(reshape(stack(r), tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, xs))
    return jac if isinstance(inputs, (tuple, list)) else jac[0]


def hessian(func, inputs, create_graph=False):
    """Hessian of a scalar function of one tensor."""
    def gradient(x):
        return grad(func(x), x, create_graph=True)[0]
    return jacobian(gradient, inputs, create_graph=create_graph)
