"""``torch.nn.modules.rnn``: re-exports ``chainrule.nn.rnn``."""
from ..rnn import *  # noqa: F401,F403
