"""``torch.nn.modules.container``: re-exports ``chainrule.nn.containers``."""
from ..containers import *  # noqa: F401,F403
