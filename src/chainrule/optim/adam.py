"""Adam (and AdamW, its decoupled-weight-decay form) - ``torch.optim.Adam`` / ``torch.optim.AdamW``."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_impl_flags, _check_lr, _check_nonneg, _step_array

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, PyTorch's formulation (t counts this parameter's steps):

        g  = ∇θ  (-∇θ if maximize);  decoupled_weight_decay: θ = θ (1 - lr·wd)  else  g = g + wd · θ
        m  = m + (1 - β1)(g - m)              v = β2 v + (1 - β2) g²
        v̂ = max(v̂, v) if amsgrad else v
        θ  = θ - lr / (1 - β1ᵗ) · m / (√v̂ / √(1 - β2ᵗ) + eps)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        name = type(self).__name__
        _check_lr(name, lr)
        _check_nonneg(name, "epsilon", eps)
        betas = _check_betas(name, betas)
        _check_nonneg(name, "weight_decay", weight_decay)
        _check_impl_flags(name, differentiable, capturable, foreach, fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    scalar_state = ("step",)

    def init_state(self, group, p, g):
        st = {"step": _step_array(), "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = np.zeros_like(p)
        return st

    def apply(self, group, hp, p, g, state, step, fresh):
        lr, wd, maximize = hp["lr"], hp["weight_decay"], hp["maximize"]
        beta1, beta2 = hp["betas"]
        if wd != 0 and hp["decoupled_weight_decay"]:
            p *= 1 - lr * wd
            d = self._grad_array(p, g, 0, maximize)
        else:
            d = self._grad_array(p, g, wd, maximize)              # g, or scratch slot 0
        m, v = state["exp_avg"], state["exp_avg_sq"]
        s = self._scratch(p, 1)
        self._lerp_(m, d, 1 - beta1, s)                           # m += (1-β1)(g - m)
        v *= beta2                                                # v = β2 v + (1-β2) g²
        np.multiply(d, 1 - beta2, out=s)
        s *= d
        v += s
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if hp["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            np.sqrt(vmax, out=s)
        else:
            np.sqrt(v, out=s)
        s /= bias_correction2_sqrt                                # denom = √v̂ / √bc2 + eps
        s += hp["eps"]
        np.divide(m, s, out=s)
        s *= -step_size
        p += s


class AdamW(Adam):
    """Adam with decoupled weight decay (θ = θ (1 - lr·wd) before the Adam step); weight_decay defaults to
    1e-2. Same state as Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:      # AdamW is always decoupled, whatever the dict says
            group["decoupled_weight_decay"] = True
