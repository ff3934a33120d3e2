"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, and Unfold / Fold.

Constructor signatures, attributes (kernel_size, stride, ... stored as tuples), default initialisation and
repr are PyTorch's, so a state_dict moves between the two:

    weight: (out, in/groups, *k)  (transposed: (in, out/groups, *k)),  kaiming_uniform(a=√5),
            i.e. U(-1/√fan_in, 1/√fan_in) with fan_in = weight.shape[1]·Πk
    bias:   U(-1/√fan_in, 1/√fan_in)
"""
import math

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .. import creation
from ..errors import ShapeError
from ..device import check_device

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Unfold", "Fold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n, name):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(e) for e in v)
    return (int(v),) * n


class _ConvNd(Module):
    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        nd = self._nd
        kernel_size = _ntuple(kernel_size, nd, "kernel_size")
        stride = _ntuple(stride, nd, "stride")
        dilation = _ntuple(dilation, nd, "dilation")
        if not isinstance(padding, str):
            padding = _ntuple(padding, nd, "padding")
        output_padding = _ntuple(output_padding, nd, "output_padding")
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.transposed, self.output_padding = transposed, output_padding
        self.groups, self.padding_mode = groups, padding_mode
        # the widths F.pad takes (last dim first) when padding_mode is not 'zeros', as torch
        if isinstance(padding, str):
            rev = [0, 0] * nd
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(nd - 1, -1, -1)):
                    total = d * (k - 1)
                    rev[2 * i], rev[2 * i + 1] = total // 2, total - total // 2
        else:
            rev = tuple(p for p in reversed(padding) for _ in range(2))
        self._reversed_padding_repeated_twice = rev
        shape = ((in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups))
        self.weight = Parameter(creation.empty(*shape, *kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, x):
        """Clear error naming the layer, the expected shape and the got shape (and the channel counts when
        only those differ)."""
        nd = self._nd
        c = self.in_channels
        sp = ", ".join(("L",) if nd == 1 else ("H", "W"))
        expected = f"expected input of shape (N, {c}, {sp}) or ({c}, {sp})"
        if not hasattr(x, "ndim") or x.ndim not in (nd + 1, nd + 2):
            got = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ShapeError(f"{type(self).__name__}: {expected}, got {got}")
        if x.shape[-nd - 1] != c:
            raise ShapeError(f"{type(self).__name__}: expected {c} input channels, got {x.shape[-nd - 1]} "
                             f"(input of shape {tuple(x.shape)}; {expected}; in_channels={c})")


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
                         bias, padding_mode, device, dtype)

    def _conv_forward(self, x, weight, bias):
        fn = F.conv1d if self._nd == 1 else F.conv2d
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution: (N, C_in, L) -> (N, C_out, L_out), L_out = ⌊(L + 2p - d(k-1) - 1)/s⌋ + 1."""
    _nd = 1


class Conv2d(_Conv):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out = ⌊(H + 2p - d(k-1) - 1)/s⌋ + 1.
    padding: int, tuple, 'valid' or 'same' (stride 1); padding_mode: 'zeros', 'reflect', 'replicate',
    'circular'."""
    _nd = 2


class _ConvTranspose(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: string padding ({padding!r}) is not supported; give an int "
                             f"or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        self._check_input(input)
        fn = F.conv_transpose1d if self._nd == 1 else F.conv_transpose2d
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                  self.dilation, output_size=output_size)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution: L_out = (L-1)s - 2p + d(k-1) + output_padding + 1."""
    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution (the adjoint of Conv2d in its input, a.k.a. "deconvolution"):
    H_out = (H-1)s - 2p + d(k-1) + output_padding + 1."""
    _nd = 2


class Unfold(Module):
    """im2col as a layer: (N, C, H, W) -> (N, C·kh·kw, L) (see functional.unfold)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """col2im as a layer: (N, C·kh·kw, L) -> (N, C, *output_size), overlaps summed (see functional.fold)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
