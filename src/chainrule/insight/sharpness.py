"""Curvature of the loss: λ_max of the Hessian (Lanczos), its trace (Hutchinson), and the step bound.

Near a point w, the loss is locally L(w + d) ≈ L(w) + gᵀd + ½ dᵀHd. Gradient descent w ← w − η g on that
quadratic is stable along an eigenvector with curvature λ > 0 only if |1 − ηλ| < 1, that is η < 2/λ;
with heavy-ball momentum β the bound is η < 2(1 + β)/λ. So η < 2/λ_max is a *local quadratic* bound: it
says what happens near w, not along the whole run (sharpness changes as training moves).

λ_max is the largest *algebraic* eigenvalue - the one that limits the step. Plain power iteration finds
the largest in magnitude, which at a saddle can be a large negative curvature; Lanczos builds a Krylov
basis from Hessian-vector products (double backward: H v = ∇(∇L · v)) and reads both ends of the spectrum
off a small tridiagonal matrix. Hutchinson: tr H = E[vᵀHv] for random ±1 vectors v.
"""
from dataclasses import dataclass, field

import numpy as np

from ..autograd.engine import grad
from ..tensor import _make

__all__ = ["sharpness", "curvature", "Sharpness"]


@dataclass
class Sharpness:
    lambda_max: float            # largest algebraic Hessian eigenvalue
    lambda_min: float            # smallest Ritz value (an estimate: Lanczos converges at both ends)
    trace: float                 # Hutchinson estimate of tr H
    trace_std: float             # standard error of that estimate
    momentum: float
    n_params: int
    iters: int
    ritz: list = field(default_factory=list)

    @property
    def lr_bound(self):
        """Largest stable gradient-descent step on the local quadratic: 2(1 + β)/λ_max (inf if λ_max ≤ 0)."""
        return 2 * (1 + self.momentum) / self.lambda_max if self.lambda_max > 0 else float("inf")

    def __str__(self):
        b = "2(1+β)/λ_max" if self.momentum else "2/λ_max"
        bound = (f"stable gradient-descent step η < {b} = {self.lr_bound:.4g} (a local quadratic bound, "
                 f"valid near these weights)" if self.lambda_max > 0 else
                 "λ_max ≤ 0: no curvature limit on the step here (the loss is locally concave)")
        return (f"Hessian of {self.n_params} parameters: λ_max = {self.lambda_max:.6g} (Lanczos, {self.iters} "
                f"Hessian-vector products), λ_min ≈ {self.lambda_min:.4g}, trace ≈ {self.trace:.4g} ± "
                f"{self.trace_std:.2g} (Hutchinson)\n{bound}")


class _HVP:
    """H v for flat float64 vectors v, reusing one differentiable gradient."""

    def __init__(self, loss, params):
        self.params = params
        self.shapes = [p.shape for p in params]
        self.sizes = [p.numel() for p in params]
        self.grads = grad(loss, params, create_graph=True, allow_unused=True, materialize_grads=True)
        self.n = int(sum(self.sizes))

    def __call__(self, v):
        parts, k = [], 0
        for p, size in zip(self.params, self.sizes):
            parts.append(_make(v[k:k + size].reshape(p.shape).astype(p._data.dtype)))
            k += size
        dot = sum((g * u).sum() for g, u in zip(self.grads, parts) if g.requires_grad)
        if not getattr(dot, "requires_grad", False):
            return np.zeros(self.n)                     # the gradient does not depend on w: H = 0
        hv = grad(dot, self.params, retain_graph=True, allow_unused=True, materialize_grads=True)
        return np.concatenate([h._data.reshape(-1).astype(np.float64) for h in hv])


def _lanczos(hvp, n, iters, rng):
    """Ritz values of H from ``iters`` Lanczos steps with full reorthogonalisation (exact for iters = n)."""
    k = min(iters, n)
    Q = np.zeros((k + 1, n))
    alpha, beta = np.zeros(k), np.zeros(k)
    q = rng.standard_normal(n)
    Q[0] = q / np.linalg.norm(q)
    m = k
    for j in range(k):
        w = hvp(Q[j])
        alpha[j] = Q[j] @ w
        w = w - alpha[j] * Q[j] - (beta[j - 1] * Q[j - 1] if j > 0 else 0)
        w -= Q[:j + 1].T @ (Q[:j + 1] @ w)            # full reorthogonalisation: keeps the basis honest
        b = np.linalg.norm(w)
        if b < 1e-10 * max(1.0, abs(alpha[j])):         # invariant subspace found: the Ritz values are exact
            m = j + 1
            break
        beta[j] = b
        Q[j + 1] = w / b
    T = np.diag(alpha[:m]) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
    return np.linalg.eigvalsh(T), m


def curvature(loss_closure, params, iters=30, samples=16, momentum=0.0, seed=0):
    """``Sharpness`` of the scalar returned by ``loss_closure()`` w.r.t. ``params`` (tensors requiring grad)."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("sharpness: no parameter requires grad")
    if not 0 <= momentum < 1:
        raise ValueError(f"sharpness: momentum β must be in [0, 1), got {momentum!r}")
    if iters < 1 or samples < 1:
        raise ValueError(f"sharpness: iters and samples must be ≥ 1, got {iters!r} and {samples!r}")
    loss = loss_closure()
    if loss.numel() != 1:
        raise ValueError(f"sharpness: the loss must be a scalar, got shape {tuple(loss.shape)}")
    hvp = _HVP(loss, params)
    rng = np.random.default_rng(seed)
    ritz, m = _lanczos(hvp, hvp.n, iters, rng)
    est = []
    for _ in range(samples):
        v = rng.choice([-1.0, 1.0], size=hvp.n)
        est.append(v @ hvp(v))
    est = np.array(est)
    return Sharpness(float(ritz[-1]), float(ritz[0]), float(est.mean()),
                     float(est.std(ddof=1) / np.sqrt(len(est))) if len(est) > 1 else float("nan"),
                     float(momentum), hvp.n, m, [float(r) for r in ritz])


def sharpness(model, loss_fn, batch, iters=30, samples=16, momentum=0.0, seed=0):
    """λ_max, λ_min, trace of the Hessian of ``loss_fn(model(x), y)`` at the current weights, for
    ``batch = (x, y)``; ``momentum`` β turns the step bound into 2(1 + β)/λ_max. The model is not changed."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"sharpness: batch must be a pair (inputs, targets), got {type(batch).__name__}")
    x, y = batch
    return curvature(lambda: loss_fn(model(x), y), list(model.parameters()), iters, samples, momentum, seed)
