"""chainrule.nn.functional: the stateless building blocks of layers (as ``torch.nn.functional``).

Each function lives with its backward rule in ``chainrule.ops.<family>``; this module only gathers them
under torch.nn.functional's names."""
from ..ops.attention import multi_head_attention_forward, scaled_dot_product_attention
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from ..ops.linear import bilinear, linear
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss, cross_entropy,
                        huber_loss, kl_div, l1_loss, margin_ranking_loss, mse_loss, nll_loss, smooth_l1_loss)
from ..ops.distance import cosine_similarity, normalize
from ..ops.dropout import dropout, dropout1d, dropout2d, dropout3d
from ..ops.embedding import embedding
from ..ops.one_hot import one_hot
from ..ops.normalization import batch_norm, group_norm, layer_norm, rms_norm
from ..ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, interpolate, max_pool1d,
                        max_pool2d)
from ..ops.reduce import log_softmax, softmax
from ..ops.shape import pad
from ..ops import unary as _un
from ..ops.inplace import _unary_inplace
from ..ops.unary import Hardtanh as _Hardtanh, gelu, sigmoid, softplus, tanh

# autocast: matmul-like ops compute in reduced precision, losses in float32 (free when autocast is off)
from ..amp.autocast_mode import float32_precision as _fp32, lower_precision as _lower  # noqa: E402
linear, conv1d, conv2d = _lower(linear), _lower(conv1d), _lower(conv2d)
cross_entropy, nll_loss, mse_loss = _fp32(cross_entropy), _fp32(nll_loss), _fp32(mse_loss)
binary_cross_entropy, binary_cross_entropy_with_logits = _fp32(binary_cross_entropy), _fp32(
    binary_cross_entropy_with_logits)

__all__ = [
    # linear, activations
    "linear", "bilinear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh",
    "hardtanh", "relu_", "leaky_relu_", "elu_", "hardtanh_", "softmax", "log_softmax",
    # convolution, pooling, resampling, padding
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "interpolate", "pad",
    # normalisation, dropout, embedding, misc
    "layer_norm", "rms_norm", "batch_norm", "group_norm", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "embedding", "one_hot", "normalize", "cosine_similarity",
    # attention
    "scaled_dot_product_attention", "multi_head_attention_forward",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
]


def _hardtanh(x, min_val=-1.0, max_val=1.0):
    return _Hardtanh.apply(x, lo=min_val, hi=max_val)


# In-place activations, as PyTorch's F.relu_ ...: the result is written into x (its version counter bumps, so
# a backward that needed x's old values fails loudly) and x is returned. While recording, x's old values go
# to the op and x takes the op's history; a leaf that requires grad is refused, as in PyTorch.
relu_ = _unary_inplace("relu_", _un.relu)
_relu6_ = _unary_inplace("relu6_", _un.relu6)      # (torch has no F.relu6_: private)
leaky_relu_ = _unary_inplace("leaky_relu_", _un.leaky_relu)
elu_ = _unary_inplace("elu_", _un.elu)
_silu_ = _unary_inplace("silu_", _un.silu)         # (torch has no F.silu_: private)
hardtanh_ = _unary_inplace("hardtanh_", _hardtanh)


def relu(x, inplace=False):
    """max(x, 0). ``inplace=True``: written into x, which is returned (see relu_)."""
    return relu_(x) if inplace else _un.relu(x)


def relu6(x, inplace=False):
    """min(max(x, 0), 6). ``inplace=True``: written into x, which is returned."""
    return _relu6_(x) if inplace else _un.relu6(x)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x. ``inplace=True``: written into x, which is returned."""
    return leaky_relu_(x, negative_slope) if inplace else _un.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1). ``inplace=True``: written into x, which is returned."""
    return elu_(x, alpha) if inplace else _un.elu(x, alpha)


def silu(x, inplace=False):
    """x * sigmoid(x). ``inplace=True``: written into x, which is returned."""
    return _silu_(x) if inplace else _un.silu(x)


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val), but (as PyTorch) with zero gradient at the bounds themselves.
    ``inplace=True``: written into x, which is returned."""
    return hardtanh_(x, min_val, max_val) if inplace else _hardtanh(x, min_val, max_val)
