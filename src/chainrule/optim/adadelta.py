"""Adadelta - ``torch.optim.Adadelta``."""
import numpy as np

from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _step_array

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), PyTorch's formulation:

        g      = ∇θ  (-∇θ if maximize) + weight_decay · θ
        v      = ρ v + (1 - ρ) g²                        (square_avg)
        Δ      = √(u + eps) / √(v + eps) · g              (u: acc_delta, before this step's update)
        u      = ρ u + (1 - ρ) Δ²
        θ      = θ - lr · Δ

    State per parameter, created at its first step: ``step``, ``square_avg``, ``acc_delta``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_lr("Adadelta", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (Adadelta's rho must be in [0, 1])")
        _check_nonneg("Adadelta", "epsilon", eps)
        _check_nonneg("Adadelta", "weight_decay", weight_decay)
        _check_impl_flags("Adadelta", differentiable, capturable, foreach)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    scalar_state = ("step",)

    def init_state(self, group, p, g):
        return {"step": _step_array(), "square_avg": np.zeros_like(p), "acc_delta": np.zeros_like(p)}

    def apply(self, group, hp, p, g, state, step, fresh):
        rho, eps = hp["rho"], hp["eps"]
        d = self._grad_array(p, g, hp["weight_decay"], hp["maximize"])
        v, u = state["square_avg"], state["acc_delta"]
        s = self._scratch(p, 1)
        v *= rho                                  # v = ρ v + (1 - ρ) g²
        np.multiply(d, d, out=s)
        s *= 1 - rho
        v += s
        std = self._scratch(p, 2)                 # Δ = √(u + eps) / √(v + eps) · g
        np.add(v, eps, out=std)
        np.sqrt(std, out=std)
        np.add(u, eps, out=s)
        np.sqrt(s, out=s)
        s /= std
        s *= d
        u *= rho                                  # u = ρ u + (1 - ρ) Δ²
        np.multiply(s, s, out=std)
        std *= 1 - rho
        u += std
        s *= -hp["lr"]                            # θ = θ - lr Δ
        p += s
