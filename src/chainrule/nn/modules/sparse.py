"""``torch.nn.modules.sparse``: re-exports ``chainrule.nn.sparse``."""
from ..sparse import *  # noqa: F401,F403
