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
from ..ops.unary import elu, gelu, leaky_relu, relu, relu6, sigmoid, silu, softplus, tanh

# autocast: matmul-like ops compute in reduced precision, losses in float32 (free when autocast is off)
from ..amp.autocast_mode import float32_precision as _fp32, lower_precision as _lower  # noqa: E402
linear, conv1d, conv2d = _lower(linear), _lower(conv1d), _lower(conv2d)
cross_entropy, nll_loss, mse_loss = _fp32(cross_entropy), _fp32(nll_loss), _fp32(mse_loss)
binary_cross_entropy, binary_cross_entropy_with_logits = _fp32(binary_cross_entropy), _fp32(
    binary_cross_entropy_with_logits)

__all__ = [
    # linear, activations
    "linear", "bilinear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh",
    "hardtanh", "softmax", "log_softmax",
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


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val), but (as PyTorch) with zero gradient at the bounds themselves."""
    from ..ops.unary import Hardtanh
    return Hardtanh.apply(x, lo=min_val, hi=max_val)
