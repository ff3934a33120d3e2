"""Normalisation layers: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d/2d/3d (constructor arguments, default
init, state-dict names and ``extra_repr`` as PyTorch). The math lives in ``chainrule/ops/normalization.py``."""
import numbers

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .. import creation
from .. import dtypes as _dt
from ..errors import ShapeError
from ..device import check_device

__all__ = ["LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


def _affine_params(module, shape, affine, bias, dtype):
    """Register ``weight`` (and ``bias`` unless bias=False) of ``shape`` when ``affine``, else None - the
    parameter layout every normalisation layer shares (filled by ``_reset_affine``)."""
    module.register_parameter("weight", Parameter(creation.empty(*shape, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(creation.empty(*shape, dtype=dtype)) if affine and bias else None)


def _reset_affine(module):
    """The identity transform: weight 1, bias 0."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    """y = (x - E[x]) / √(Var[x] + eps) · weight + bias over the trailing ``normalized_shape`` dims.

    weight = 1, bias = 0 initially (shape ``normalized_shape``); ``elementwise_affine=False``: neither."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_params(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / √(mean(x²) + eps) · weight over the trailing ``normalized_shape`` dims (eps=None: the
    dtype's machine epsilon, as PyTorch)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.empty(*self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise each of ``num_groups`` groups of channels of an (N, C, *) input per sample, then a
    per-channel affine (weight = 1, bias = 0 initially)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_params(self, (num_channels,), affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        if x.ndim < 2:
            raise ShapeError(f"GroupNorm: expected an input of shape (N, {self.num_channels}, *), got "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm: expected {self.num_channels} input channels (num_channels) at dim 1, "
                             f"got {x.shape[1]} (input of shape {tuple(x.shape)})")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d/3d: batch statistics in training (running ones updated), running
    statistics in eval. Buffers ``running_mean`` (0), ``running_var`` (1), ``num_batches_tracked`` (0)."""
    _dims = ()          # the input ranks the subclass accepts
    _expected = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_params(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_dt.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self._dims:
            raise ShapeError(f"{name}: expected {self._expected} input, got a {x.ndim}D input of shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected {self.num_features} input channels (num_features) at dim 1, "
                             f"got {x.shape[1]} (input of shape {tuple(x.shape)})")

    def forward(self, x):
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            nbt = self.num_batches_tracked
            nbt._data += 1                           # a counter, never part of any graph
            nbt._vc[0] += 1
            factor = 1.0 / int(nbt._data) if self.momentum is None else self.momentum
        # batch statistics when training, or when there are no running statistics to use
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if use_running else None,
                            self.running_var if use_running else None,
                            self.weight, self.bias, bn_training, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C."""
    _dims = (2, 3)
    _expected = "a 2D (N, C) or 3D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C."""
    _dims = (4,)
    _expected = "a 4D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs, per channel C."""
    _dims = (5,)
    _expected = "a 5D (N, C, D, H, W)"
