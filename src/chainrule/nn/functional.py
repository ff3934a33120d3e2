"""chainrule.nn.functional: the stateless building blocks of layers (as ``torch.nn.functional``)."""
from ..ops.arithmetic import clamp as _clamp
from ..ops.linear import bilinear, linear
from ..ops.loss import cross_entropy, nll_loss
from ..ops.reduce import log_softmax, softmax
from ..ops.shape import pad
from ..ops.unary import elu, gelu, leaky_relu, relu, relu6, sigmoid, silu, softplus, tanh
from ..ops.norm import batch_norm, group_norm, layer_norm, rms_norm
from ..ops.nnmisc import (cosine_similarity, dropout, dropout1d, dropout2d, dropout3d, embedding, normalize,
                          one_hot)

__all__ = ["linear", "bilinear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid",
           "tanh", "hardtanh", "softmax", "log_softmax", "pad", "cross_entropy", "nll_loss"]


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    return _clamp(x, min_val, max_val)


__all__ += ["layer_norm", "rms_norm", "batch_norm", "group_norm", "dropout", "dropout1d", "dropout2d",
            "dropout3d", "embedding", "one_hot", "normalize", "cosine_similarity"]
