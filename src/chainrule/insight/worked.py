"""The seed articles' worked examples, run through ``explain`` (``chainrule explain --example ...``).

* ``linear``: ŷ = w1·x + w2 on x = 1..10, y = 2x, from w1 = 1, w2 = 0, L = ½ Σ (y − ŷ)², η = 0.1. First
  gradients: ∂L/∂w1 = −Σ (y − ŷ) x = −385, ∂L/∂w2 = −Σ (y − ŷ) = −55. Then what happens next: with η = 0.1
  the iteration diverges (the Hessian [[Σx², Σx], [Σx, N]] has λ_max ≈ 392.9, so η must stay below
  2/λ_max ≈ 0.0051), and a stable η converges to w1 = 2, w2 = 0.
* ``two-layer``: the seed's network a = ReLU(W_h x + b_h), y = sigmoid(W_y a + b_y), J = 1/(2N) Σ (y − y*)².
* ``xor``: a 2-2-1 tanh → sigmoid network on the four XOR points, with MSE.
"""
import numpy as np

from .. import float64, tensor
from ..ops.unary import relu, sigmoid, tanh
from .explain import explain
from .sharpness import curvature

__all__ = ["EXAMPLES", "linear", "two_layer", "xor", "run_example"]


def _gd(loss_fn, params, lr, steps):
    """Plain gradient descent on float64 leaves; yields (step, loss, [param values]) after each step."""
    for t in range(1, steps + 1):
        for p in params:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        for p in params:
            p._data -= lr * p.grad._data
        yield t, loss.item(), [p._data.copy() for p in params]


def linear(lr=0.1):
    """The seed's linear regression, explained, then iterated with η and with a stable η."""
    x = tensor(np.arange(1.0, 11.0), dtype=float64)
    y = 2 * x
    w1 = tensor(1.0, dtype=float64, requires_grad=True)
    w2 = tensor(0.0, dtype=float64, requires_grad=True)

    def loss():
        return 0.5 * ((y - (w1 * x + w2)) ** 2).sum()

    ex = explain(loss, names={"w1": w1, "w2": w2, "x": x, "y": y}, lr=lr)
    sharp = curvature(loss, [w1, w2], iters=2, samples=8)
    lines = ["", "What happens next", "-----------------"]
    history = [(t, v) for t, v, _ in _gd(loss, [w1, w2], lr, 4)]
    lines.append(f"with η = {lr:g}: " + ", ".join(f"L after step {t} = {v:.4g}" for t, v in history)
                 + (" - the iteration diverges" if history[-1][1] > history[0][1] else ""))
    lines.append(str(sharp))
    if lr >= sharp.lr_bound:
        lines.append(f"η = {lr:g} is {lr / sharp.lr_bound:.3g}× the largest stable step: each step multiplies "
                     f"the error along the sharpest direction by |1 − ηλ_max| = {abs(1 - lr * sharp.lambda_max):.3g}")
    stable = 0.9 * sharp.lr_bound
    with_stable = []
    w1._data[...], w2._data[...] = 1.0, 0.0
    for t, v, (a, b) in _gd(loss, [w1, w2], stable, 2000):
        if t in (1, 10, 100, 1000, 2000):
            with_stable.append(f"step {t}: L = {v:.3g}, w1 = {float(a):.4f}, w2 = {float(b):.4f}")
    lines.append(f"with a stable η = 0.9 × 2/λ_max = {stable:.4g} (from w1 = 1, w2 = 0): "
                 + "; ".join(with_stable) + " - converging to w1 = 2, w2 = 0 (slowly along the flat direction, "
                 f"λ_min ≈ {sharp.lambda_min:.3g})")
    w1._data[...], w2._data[...] = 1.0, 0.0        # the explained graph's leaves show the seed's start again
    ex.notes.extend(lines[3:])
    ex.sharpness = sharp
    return ex


def two_layer_values():
    """The numbers used by ``two_layer`` (a 2-3-1 network, two samples), as NumPy arrays."""
    return dict(X=np.array([[1.0, 2.0], [0.5, -1.0]]), T=np.array([[1.0], [0.0]]),
                Wh=np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]), bh=np.array([0.1, -0.1, 0.0]),
                Wy=np.array([[0.7, -0.8, 0.9]]), by=np.array([0.05]))


def two_layer(lr=0.1):
    """The seed's two-layer ReLU → sigmoid network with J = 1/(2N) Σ (y − y*)²."""
    v = two_layer_values()
    X, T = tensor(v["X"], dtype=float64), tensor(v["T"], dtype=float64)
    P = {k: tensor(v[k], dtype=float64, requires_grad=True) for k in ("Wh", "bh", "Wy", "by")}
    n = X.shape[0]

    def loss():
        a = relu(X @ P["Wh"].T + P["bh"])
        y = sigmoid(a @ P["Wy"].T + P["by"])
        return ((y - T) ** 2).sum() / (2 * n)

    return explain(loss, names={"W_h": P["Wh"], "b_h": P["bh"], "W_y": P["Wy"], "b_y": P["by"], "x": X,
                                "y*": T}, lr=lr)


def xor(lr=0.5):
    """A 2-2-1 tanh → sigmoid network on XOR, MSE."""
    X = tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=float64)
    T = tensor([[0.0], [1.0], [1.0], [0.0]], dtype=float64)
    W1 = tensor([[0.5, -0.4], [0.3, 0.8]], dtype=float64, requires_grad=True)
    b1 = tensor([0.0, -0.2], dtype=float64, requires_grad=True)
    W2 = tensor([[0.6, -0.7]], dtype=float64, requires_grad=True)
    b2 = tensor([0.1], dtype=float64, requires_grad=True)

    def loss():
        return ((sigmoid(tanh(X @ W1.T + b1) @ W2.T + b2) - T) ** 2).mean()

    return explain(loss, names={"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": X, "t": T}, lr=lr)


EXAMPLES = {"linear": linear, "two-layer": two_layer, "xor": xor}


def run_example(name, lr=None):
    if name not in EXAMPLES:
        raise ValueError(f"explain: unknown example {name!r}; choose one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name]() if lr is None else EXAMPLES[name](lr=lr)
