"""The built-in callbacks (one file each). The contract they implement is ``chainrule.train.callback``."""
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = ["CSVLogger", "EarlyStopping", "ModelCheckpoint", "TensorBoard", "TerminateOnNaN"]
