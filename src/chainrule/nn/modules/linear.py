"""``torch.nn.modules.linear``: re-exports ``chainrule.nn.linear``."""
from ..linear import *  # noqa: F401,F403
