"""chainrule.nn: modules (layers, containers), ``functional``, ``init``, losses - as ``torch.nn``."""
from . import functional, init, utils
from . import parallel  # noqa: F401
from .parallel import DataParallel
from .activation import (ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax,
                         Softplus, Tanh)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MarginRankingLoss, MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm, RMSNorm
from .parameter import Buffer, Parameter
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Fold, Unfold
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, Upsample
from . import modules  # noqa: E402,F401  (torch.nn.modules.<file> layout; after the layers it re-exports)


def __getattr__(name):
    # torch.nn.SyncBatchNorm lives in chainrule.distributed (imported on first use: it imports nn itself)
    if name == "SyncBatchNorm":
        from ..distributed.sync_batchnorm import SyncBatchNorm
        return SyncBatchNorm
    if name == "DistributedDataParallel":          # torch.nn.DistributedDataParallel (same cycle)
        return parallel.DistributedDataParallel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
