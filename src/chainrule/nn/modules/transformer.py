"""``torch.nn.modules.transformer``: re-exports ``chainrule.nn.transformer``."""
from ..transformer import *  # noqa: F401,F403
