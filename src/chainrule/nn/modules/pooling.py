"""``torch.nn.modules.pooling``: re-exports ``chainrule.nn.pooling``."""
from ..pooling import *  # noqa: F401,F403
