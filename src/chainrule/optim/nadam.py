"""NAdam (Adam with Nesterov momentum) - ``torch.optim.NAdam``."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_impl_flags, _check_lr, _check_nonneg, _step_array

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, PyTorch's formulation (t counts this parameter's steps, ψ = momentum_decay):

        g   = ∇θ  (-∇θ if maximize);  decoupled_weight_decay: θ = θ (1 - lr·wd)  else  g = g + wd · θ
        μt  = β1 (1 - ½ · 0.96^(t ψ)),  μt+1 = β1 (1 - ½ · 0.96^((t+1) ψ)),  Π = Π · μt  (mu_product)
        m   = m + (1 - β1)(g - m),      v = β2 v + (1 - β2) g²,   denom = √(v / (1 - β2ᵗ)) + eps
        θ   = θ - lr (1 - μt) / (1 - Π) · g / denom  -  lr μt+1 / (1 - Π μt+1) · m / denom

    State per parameter: ``step``, ``mu_product`` (Π), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr("NAdam", lr)
        _check_nonneg("NAdam", "epsilon", eps)
        betas = _check_betas("NAdam", betas)
        _check_nonneg("NAdam", "weight_decay", weight_decay)
        _check_nonneg("NAdam", "momentum_decay", momentum_decay)
        _check_impl_flags("NAdam", differentiable, capturable, foreach, None)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    scalar_state = ("step", "mu_product")

    def init_state(self, group, p, g):
        return {"step": _step_array(), "mu_product": _step_array(1.0), "exp_avg": np.zeros_like(p),
                "exp_avg_sq": np.zeros_like(p)}

    def apply(self, group, hp, p, g, state, step, fresh):
        lr, wd, maximize = hp["lr"], hp["weight_decay"], hp["maximize"]
        beta1, beta2 = hp["betas"]
        momentum_decay = hp["momentum_decay"]
        bias_correction2 = 1 - beta2 ** step
        if wd != 0 and hp["decoupled_weight_decay"]:
            p *= 1 - lr * wd
            d = self._grad_array(p, g, 0, maximize)
        else:
            d = self._grad_array(p, g, wd, maximize)   # g, or scratch slot 0
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_t = state["mu_product"]
        mu_t *= mu                     # in the scalar dtype, as PyTorch's 0-d tensor
        mu_product = float(mu_t.flat[0])
        mu_product_next = mu_product * mu_next
        m, v = state["exp_avg"], state["exp_avg_sq"]
        s = self._scratch(p, 1)
        self._lerp_(m, d, 1 - beta1, s)
        v *= beta2
        np.multiply(d, 1 - beta2, out=s)
        s *= d
        v += s
        np.divide(v, bias_correction2, out=s)          # denom = √(v / bc2) + eps
        np.sqrt(s, out=s)
        s += hp["eps"]
        t = self._scratch(p, 0)                        # (g is no longer needed after this line)
        np.divide(d, s, out=t)
        t *= -lr * (1.0 - mu) / (1.0 - mu_product)
        p += t
        np.divide(m, s, out=t)
        t *= (-lr * mu_next) / (1.0 - mu_product_next)
        p += t
