"""Fully-connected layers: Identity, Linear (y = x Wᵀ + b), Bilinear (y = x1ᵀ W x2 + b)."""
import math

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .. import creation
from ..errors import ShapeError
from ..device import check_device

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder that accepts and ignores any constructor arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x Wᵀ + b, W of shape (out_features, in_features).

    Default init as PyTorch: W ~ U(-1/√in, 1/√in) (kaiming_uniform with a=√5), b ~ U(-1/√in, 1/√in)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        try:
            return F.linear(x, self.weight, self.bias)
        except ShapeError:          # (the try costs nothing on the normal path)
            if x.ndim == 0 or x.shape[-1] != self.in_features:
                raise ShapeError(f"{self!r} expects an input of shape (*, {self.in_features}) (last dim = "
                                 f"in_features), got shape {tuple(x.shape)}. Did you forget to flatten the "
                                 f"input (x.flatten(1)), or set in_features wrong?") from None
            raise

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """Not supported: chainrule needs in_features up front (use Linear)."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("LazyLinear is not supported; use Linear(in_features, out_features)")


class Bilinear(Module):
    """y_k = x1ᵀ W_k x2 + b_k, W of shape (out, in1, in2); init U(-1/√in1, 1/√in1) as PyTorch."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(creation.empty(out_features, in1_features, in2_features, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        try:
            return F.bilinear(x1, x2, self.weight, self.bias)
        except ShapeError as exc:
            raise ShapeError(f"{self!r}: {exc}") from None

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
