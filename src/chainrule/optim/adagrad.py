"""Adagrad - ``torch.optim.Adagrad``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _num, _step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, PyTorch's formulation (t counts this parameter's steps):

        g   = ∇θ  (-∇θ if maximize) + weight_decay · θ
        clr = lr / (1 + (t - 1) · lr_decay)
        sum = sum + g²
        θ   = θ - clr · g / (√sum + eps)

    State per parameter (created for every parameter at construction, as PyTorch does): ``step``, ``sum``
    (starting at ``initial_accumulator_value``).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr("Adagrad", lr)
        _check_nonneg("Adagrad", "lr_decay", lr_decay)
        _check_nonneg("Adagrad", "weight_decay", weight_decay)
        _check_nonneg("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        _check_nonneg("Adagrad", "epsilon", eps)
        _check_impl_flags("Adagrad", differentiable, False, foreach, fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        st = self.state[p]
        st["step"] = _step_tensor()
        st["sum"] = _make(np.full_like(p._data, self.defaults["initial_accumulator_value"]))
        return st

    def step(self, closure=None):
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = _num(group["lr"], "lr")
            lr_decay = group["lr_decay"]
            eps = group["eps"]
            wd = group["weight_decay"]
            maximize = group["maximize"]
            for param, p, g in self._with_grads(group):
                st = state[param]
                if len(st) == 0:            # a parameter added later with add_param_group
                    st = self._init_state(param)
                step_t = st["step"]._data
                step_t += 1
                step = float(step_t)
                d = self._grad_array(p, g, wd, maximize)
                clr = lr / (1 + (step - 1) * lr_decay)
                acc = st["sum"]._data
                s = self._scratch(p, 1)
                np.multiply(d, d, out=s)            # sum += g²
                acc += s
                np.sqrt(acc, out=s)                 # std = √sum + eps
                s += eps
                np.divide(d, s, out=s)
                s *= -clr
                p += s
                param._vc[0] += 1
        return loss
