"""``torch.nn.modules.normalization``: re-exports ``chainrule.nn.normalization``."""
from ..normalization import *  # noqa: F401,F403
