"""Parameter: a leaf Tensor that a Module registers as one of its learnable weights."""
import numpy as np

from ..creation import _to_array
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A Tensor that requires grad by default and that ``Module.parameters()`` finds.

    ``Parameter(t)`` shares memory with ``t`` (as in PyTorch)."""
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = _to_array(data)
        self = Tensor.__new__(cls)
        self._data = arr
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._vc = [0]
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass    # all done in __new__

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module attribute (``self.x = nn.Buffer(t)``)."""
    __slots__ = ("persistent",)

    def __new__(cls, data, persistent=True):
        t = data if isinstance(data, Tensor) else Tensor(data)
        self = Tensor.__new__(cls)
        self._data, self._requires_grad, self.grad, self.grad_fn, self._vc, self._hooks = \
            t._data, False, None, None, [0], None
        return self

    def __init__(self, data, persistent=True):
        self.persistent = persistent
