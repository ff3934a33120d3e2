"""RMSprop - ``torch.optim.RMSprop``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _num, _step_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, PyTorch's formulation:

        g   = ∇θ  (-∇θ if maximize) + weight_decay · θ
        v   = α v + (1 - α) g²
        centered:  ḡ = ḡ + (1 - α)(g - ḡ),   avg = √(v - ḡ²) + eps     else  avg = √v + eps
        momentum > 0:  b = momentum · b + g / avg,  θ = θ - lr · b      else  θ = θ - lr · g / avg

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (momentum > 0), ``grad_avg``
    (ḡ, centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr("RMSprop", lr)
        _check_nonneg("RMSprop", "epsilon", eps)
        _check_nonneg("RMSprop", "momentum", momentum)
        _check_nonneg("RMSprop", "weight_decay", weight_decay)
        _check_nonneg("RMSprop", "alpha", alpha)
        _check_impl_flags("RMSprop", differentiable, capturable, foreach, None)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            alpha = group["alpha"]
            eps = group["eps"]
            wd = group["weight_decay"]
            momentum = group["momentum"]
            centered = group["centered"]
            maximize = group["maximize"]
            for param, p, g in self._with_grads(group):
                st = state[param]
                if len(st) == 0:
                    st["step"] = _step_tensor()
                    st["square_avg"] = _make(np.zeros_like(p))
                    if momentum > 0:
                        st["momentum_buffer"] = _make(np.zeros_like(p))
                    if centered:
                        st["grad_avg"] = _make(np.zeros_like(p))
                step_t = st["step"]._data
                step_t += 1
                d = self._grad_array(p, g, wd, maximize)
                sq = st["square_avg"]._data
                s = self._scratch(p, 1)
                sq *= alpha                                  # v = α v + (1-α) g²
                np.multiply(d, 1 - alpha, out=s)
                s *= d
                sq += s
                if centered:
                    ga = st["grad_avg"]._data
                    self._lerp_(ga, d, 1 - alpha, s)         # ḡ += (1-α)(g - ḡ)
                    np.multiply(ga, ga, out=s)               # avg = √(v - ḡ²)
                    np.subtract(sq, s, out=s)
                    np.sqrt(s, out=s)
                else:
                    np.sqrt(sq, out=s)
                s += eps
                np.divide(d, s, out=s)                       # g / avg
                if momentum > 0:
                    buf = st["momentum_buffer"]._data
                    buf *= momentum
                    buf += s
                    np.multiply(buf, -lr, out=s)
                else:
                    s *= -lr
                p += s
                param._vc[0] += 1
        return loss
