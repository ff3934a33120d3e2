"""``torch.nn.modules.dropout``: re-exports ``chainrule.nn.dropout``."""
from ..dropout import *  # noqa: F401,F403
