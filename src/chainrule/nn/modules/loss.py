"""``torch.nn.modules.loss``: re-exports ``chainrule.nn.loss``."""
from ..loss import *  # noqa: F401,F403
