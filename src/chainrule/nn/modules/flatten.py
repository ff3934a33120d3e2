"""``torch.nn.modules.flatten``: re-exports ``chainrule.nn.flatten``."""
from ..flatten import *  # noqa: F401,F403
