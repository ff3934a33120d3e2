"""Which modules of a model the monitor watches, and how to name them in plain words.

A *layer* is a module with parameters of its own (Linear, Conv2d, LayerNorm, ...): its parameters'
gradients are grouped under it, and the gradient w.r.t. its output is what Glorot & Bengio (2010)
compare across depth. An *activation* is a parameter-free module whose output statistics tell dead or
saturated units (ReLU, Tanh, Sigmoid, ...).
"""
from .. import nn

__all__ = ["describe", "layers_of", "activations_of", "ACTIVATION_BOUNDS"]

# Saturation: outputs within 1 % of the activation's bounds (the range is the bounds' distance).
ACTIVATION_BOUNDS = ((nn.Sigmoid, (0.0, 1.0)), (nn.Tanh, (-1.0, 1.0)))
# Dead units: never positive over a window (a ReLU's gradient is then exactly zero for them).
RELU_LIKE = (nn.ReLU,)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Sigmoid, nn.Tanh, nn.Hardtanh)


def describe(module):
    """'Linear 784→256', 'Conv2d 1→6 5×5', 'Tanh': the layer's type and shape, as a person says it."""
    kind = type(module).__name__
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return f"{kind} {module.in_features}→{module.out_features}"
    if hasattr(module, "in_channels") and hasattr(module, "out_channels"):
        k = module.kernel_size
        k = "×".join(str(s) for s in k) if isinstance(k, (tuple, list)) else f"{k}×{k}"
        return f"{kind} {module.in_channels}→{module.out_channels} {k}"
    if hasattr(module, "normalized_shape"):
        return f"{kind} {tuple(module.normalized_shape)}"
    if hasattr(module, "num_features"):
        return f"{kind} {module.num_features}"
    return kind


def layers_of(model):
    """[(path, module)] of the modules that own parameters directly, in registration order."""
    out = []
    for name, m in model.named_modules():
        if any(True for _ in m.named_parameters(recurse=False)):
            out.append((name or type(m).__name__, m))
    return out


def activations_of(model):
    """[(path, module)] of the activation modules (ReLU, Tanh, Sigmoid, ...)."""
    return [(name or type(m).__name__, m) for name, m in model.named_modules() if isinstance(m, ACTIVATIONS)]


def saturation_bounds(module):
    """(low, high) of a sigmoid-like activation, or None (unbounded)."""
    for cls, b in ACTIVATION_BOUNDS:
        if isinstance(module, cls):
            return b
    return None
