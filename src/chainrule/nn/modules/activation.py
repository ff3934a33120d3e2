"""``torch.nn.modules.activation``: re-exports ``chainrule.nn.activation``."""
from ..activation import *  # noqa: F401,F403
from ..attention import MultiheadAttention  # noqa: F401  (PyTorch keeps it in activation.py)
