"""Adamax (Adam with the infinity norm) - ``torch.optim.Adamax``."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_impl_flags, _check_lr, _check_nonneg, _step_array

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, PyTorch's formulation (t counts this parameter's steps):

        g = ∇θ  (-∇θ if maximize) + weight_decay · θ
        m = m + (1 - β1)(g - m)          u = max(β2 u, |g| + eps)
        θ = θ - lr / (1 - β1ᵗ) · m / u

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr("Adamax", lr)
        _check_nonneg("Adamax", "epsilon", eps)
        betas = _check_betas("Adamax", betas)
        _check_nonneg("Adamax", "weight_decay", weight_decay)
        _check_impl_flags("Adamax", differentiable, capturable, foreach, None)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    scalar_state = ("step",)

    def init_state(self, group, p, g):
        return {"step": _step_array(), "exp_avg": np.zeros_like(p), "exp_inf": np.zeros_like(p)}

    def apply(self, group, hp, p, g, state, step, fresh):
        beta1, beta2 = hp["betas"]
        d = self._grad_array(p, g, hp["weight_decay"], hp["maximize"])
        m, u = state["exp_avg"], state["exp_inf"]
        s = self._scratch(p, 1)
        self._lerp_(m, d, 1 - beta1, s)
        u *= beta2                                   # u = max(β2 u, |g| + eps)
        np.abs(d, out=s)
        s += hp["eps"]
        np.maximum(u, s, out=u)
        clr = hp["lr"] / (1 - beta1 ** step)
        np.divide(m, u, out=s)
        s *= -clr
        p += s
