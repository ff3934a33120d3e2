"""``torch.nn.modules.batchnorm``: re-exports ``chainrule.nn.normalization``."""
from ..normalization import *  # noqa: F401,F403
