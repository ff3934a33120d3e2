"""RMSprop - ``torch.optim.RMSprop``."""
import numpy as np

from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _step_array

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

    scalar_state = ("step",)

    def init_state(self, group, p, g):
        st = {"step": _step_array(), "square_avg": np.zeros_like(p)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = np.zeros_like(p)
        if group["centered"]:
            st["grad_avg"] = np.zeros_like(p)
        return st

    def apply(self, group, hp, p, g, state, step, fresh):
        alpha = hp["alpha"]
        d = self._grad_array(p, g, hp["weight_decay"], hp["maximize"])
        sq = state["square_avg"]
        s = self._scratch(p, 1)
        sq *= alpha                                  # v = α v + (1-α) g²
        np.multiply(d, 1 - alpha, out=s)
        s *= d
        sq += s
        if hp["centered"]:
            ga = state["grad_avg"]
            self._lerp_(ga, d, 1 - alpha, s)         # ḡ += (1-α)(g - ḡ)
            np.multiply(ga, ga, out=s)               # avg = √(v - ḡ²)
            np.subtract(sq, s, out=s)
            np.sqrt(s, out=s)
        else:
            np.sqrt(sq, out=s)
        s += hp["eps"]
        np.divide(d, s, out=s)                       # g / avg
        if hp["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= hp["momentum"]
            buf += s
            np.multiply(buf, -hp["lr"], out=s)
        else:
            s *= -hp["lr"]
        p += s
