"""``torch.nn.modules`` layout, for code that imports layers from their PyTorch file
(``from torch.nn.modules.rnn import LSTM``). The layers live in ``chainrule.nn``; each file here only
re-exports those that PyTorch keeps in the file of the same name."""
from . import (activation, batchnorm, container, conv, dropout, flatten, linear, loss, module,  # noqa: F401
               normalization, pooling, rnn, sparse, transformer)
from .. import *  # noqa: F401,F403
from ..module import Module  # noqa: F401
