"""Adadelta - ``torch.optim.Adadelta``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _num, _step_tensor

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

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            rho, eps, wd, maximize = group["rho"], group["eps"], group["weight_decay"], group["maximize"]
            for param, p, g in self._with_grads(group):
                st = self.state[param]
                if len(st) == 0:
                    st["step"] = _step_tensor()
                    st["square_avg"] = _make(np.zeros_like(p))
                    st["acc_delta"] = _make(np.zeros_like(p))
                st["step"]._data += 1
                d = self._grad_array(p, g, wd, maximize)
                v, u = st["square_avg"]._data, st["acc_delta"]._data
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
                s *= -lr                                  # θ = θ - lr Δ
                p += s
                param._vc[0] += 1
        return loss
