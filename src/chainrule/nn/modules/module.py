"""``torch.nn.modules.module``: re-exports ``chainrule.nn.module``."""
from ..module import *  # noqa: F401,F403
