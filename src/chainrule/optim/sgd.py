"""SGD: stochastic gradient descent, optionally with (Nesterov) momentum - ``torch.optim.SGD``."""
import numpy as np

from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), PyTorch's formulation:

        g  = ∇θ  (-∇θ if maximize) + weight_decay · θ
        b  = g at the first step, then  b = momentum · b + (1 - dampening) · g      (if momentum != 0)
        g  = g + momentum · b  if nesterov  else  b
        θ  = θ - lr · g

    State per parameter (only when momentum != 0): ``momentum_buffer``.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr("SGD", lr)
        _check_nonneg("SGD", "momentum", momentum)
        _check_nonneg("SGD", "weight_decay", weight_decay)
        _check_impl_flags("SGD", differentiable, False, foreach, fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires a momentum and zero dampening (got momentum={momentum}, "
                             f"dampening={dampening})")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    bumped_state = ("momentum_buffer",)

    def init_state(self, group, p, g):
        if group["momentum"] == 0:
            return {}
        return {"momentum_buffer": np.array(self._grad_array(p, g, group["weight_decay"], group["maximize"]),
                                            copy=True)}

    def apply(self, group, hp, p, g, state, step, fresh):
        lr, momentum = hp["lr"], hp["momentum"]
        d = self._grad_array(p, g, hp["weight_decay"], hp["maximize"])   # g itself, or scratch slot 0
        if momentum != 0:
            buf = state["momentum_buffer"]
            if not fresh:                       # (a fresh buffer is d itself)
                buf *= momentum
                if hp["dampening"] == 0:
                    buf += d
                else:                           # buf += (1 - dampening) d, without touching g
                    s = self._scratch(p, 1)
                    np.multiply(d, 1 - hp["dampening"], out=s)
                    buf += s
            if hp["nesterov"]:                  # d = d + momentum * buf
                s = self._scratch(p, 1)
                np.multiply(buf, momentum, out=s)
                s += d
                d = s
            else:
                d = buf
        s = self._scratch(p, 1)
        np.multiply(d, -lr, out=s)
        p += s
