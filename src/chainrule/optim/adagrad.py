"""Adagrad - ``torch.optim.Adagrad``."""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _check_impl_flags, _check_lr, _check_nonneg, _step_array

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
        for group in self.param_groups:         # PyTorch makes Adagrad's state up front
            for p in group["params"]:
                self.state[p].update((k, _make(v)) for k, v in self.init_state(group, p._data, None).items())

    scalar_state = ("step",)

    def init_state(self, group, p, g):
        return {"step": _step_array(), "sum": np.full_like(p, self.defaults["initial_accumulator_value"])}

    def apply(self, group, hp, p, g, state, step, fresh):
        d = self._grad_array(p, g, hp["weight_decay"], hp["maximize"])
        clr = hp["lr"] / (1 + (step - 1) * hp["lr_decay"])
        acc = state["sum"]
        s = self._scratch(p, 1)
        np.multiply(d, d, out=s)            # sum += g²
        acc += s
        np.sqrt(acc, out=s)                 # std = √sum + eps
        s += hp["eps"]
        np.divide(d, s, out=s)
        s *= -clr
        p += s
