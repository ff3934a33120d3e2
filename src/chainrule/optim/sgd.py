"""SGD: stochastic gradient descent, optionally with (Nesterov) momentum - ``torch.optim.SGD``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _num

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

    def step(self, closure=None):
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for param, p, g in self._with_grads(group):
                d = self._grad_array(p, g, weight_decay, maximize)     # g itself, or scratch slot 0
                if momentum != 0:
                    st = state[param]
                    bt = st.get("momentum_buffer")
                    if bt is None:
                        st["momentum_buffer"] = bt = _make(np.array(d, copy=True))
                        buf = bt._data
                    else:
                        buf = bt._data
                        buf *= momentum
                        if dampening == 0:
                            buf += d
                        else:                       # buf += (1 - dampening) d, without touching g
                            s = self._scratch(p, 1)
                            np.multiply(d, 1 - dampening, out=s)
                            buf += s
                        bt._vc[0] += 1
                    if nesterov:                    # d = d + momentum * buf
                        s = self._scratch(p, 1)
                        np.multiply(buf, momentum, out=s)
                        s += d
                        d = s
                    else:
                        d = buf
                s = self._scratch(p, 1)
                np.multiply(d, -lr, out=s)
                p += s
                param._vc[0] += 1
        return loss
