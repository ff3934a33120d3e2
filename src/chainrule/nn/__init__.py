"""chainrule.nn: layers, losses and initialisation (filled by the nn issue). ``nn.functional`` already
holds the differentiable activation functions."""
from . import functional

__all__ = ["functional"]
