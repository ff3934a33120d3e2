"""Adamax (Adam with the infinity norm) - ``torch.optim.Adamax``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_betas, _check_impl_flags, _check_lr, _check_nonneg, _num, _step_tensor

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

    def step(self, closure=None):
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            maximize = group["maximize"]
            for param, p, g in self._with_grads(group):
                st = state[param]
                if len(st) == 0:
                    st["step"] = _step_tensor()
                    st["exp_avg"] = _make(np.zeros_like(p))
                    st["exp_inf"] = _make(np.zeros_like(p))
                step_t = st["step"]._data
                step_t += 1
                d = self._grad_array(p, g, wd, maximize)
                m, u = st["exp_avg"]._data, st["exp_inf"]._data
                s = self._scratch(p, 1)
                self._lerp_(m, d, 1 - beta1, s)
                u *= beta2                                   # u = max(β2 u, |g| + eps)
                np.abs(d, out=s)
                s += eps
                np.maximum(u, s, out=u)
                clr = lr / (1 - beta1 ** float(step_t))
                np.divide(m, u, out=s)
                s *= -clr
                p += s
                param._vc[0] += 1
        return loss
