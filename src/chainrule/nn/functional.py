"""chainrule.nn.functional: the stateless building blocks of layers (as ``torch.nn.functional``)."""
from ..ops.reduce import log_softmax, softmax
from ..ops.shape import pad
from ..ops.unary import elu, gelu, leaky_relu, relu, relu6, sigmoid, silu, softplus, tanh

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh", "softmax",
           "log_softmax", "pad"]
