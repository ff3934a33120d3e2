"""``torch.nn.modules.conv``: re-exports ``chainrule.nn.conv``."""
from ..conv import *  # noqa: F401,F403
