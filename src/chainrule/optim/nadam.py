"""NAdam (Adam with Nesterov momentum) - ``torch.optim.NAdam``."""
import numpy as np

from ..tensor import _make
from .optimizer import (Optimizer, _check_betas, _check_impl_flags, _check_lr, _check_nonneg, _num,
                        _scalar_np_dtype, _step_tensor)

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

    def step(self, closure=None):
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            decoupled = group["decoupled_weight_decay"]
            maximize = group["maximize"]
            for param, p, g in self._with_grads(group):
                st = state[param]
                if len(st) == 0:
                    st["step"] = _step_tensor()
                    st["mu_product"] = _make(np.array(1.0, dtype=_scalar_np_dtype()))
                    st["exp_avg"] = _make(np.zeros_like(p))
                    st["exp_avg_sq"] = _make(np.zeros_like(p))
                step_t = st["step"]._data
                step_t += 1
                step = float(step_t)
                bias_correction2 = 1 - beta2 ** step
                if wd != 0 and decoupled:
                    p *= 1 - lr * wd
                    d = self._grad_array(p, g, 0, maximize)
                else:
                    d = self._grad_array(p, g, wd, maximize)   # g, or scratch slot 0
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_t = st["mu_product"]._data
                mu_t *= mu                     # in the scalar dtype, as PyTorch's 0-d tensor
                mu_product = float(mu_t)
                mu_product_next = mu_product * mu_next
                m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
                s = self._scratch(p, 1)
                self._lerp_(m, d, 1 - beta1, s)
                v *= beta2
                np.multiply(d, 1 - beta2, out=s)
                s *= d
                v += s
                np.divide(v, bias_correction2, out=s)          # denom = √(v / bc2) + eps
                np.sqrt(s, out=s)
                s += eps
                t = self._scratch(p, 0)                        # (g is no longer needed after this line)
                np.divide(d, s, out=t)
                t *= -lr * (1.0 - mu) / (1.0 - mu_product)
                p += t
                np.divide(m, s, out=t)
                t *= (-lr * mu_next) / (1.0 - mu_product_next)
                p += t
                param._vc[0] += 1
        return loss
