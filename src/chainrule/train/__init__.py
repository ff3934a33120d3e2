"""Training loops without writing them: ``Trainer``/``fit``, callbacks, metrics, progress, logging.

    from chainrule.train import Trainer, EarlyStopping
    history = Trainer(model, optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"],
                      callbacks=[EarlyStopping("val_loss", patience=3)]).fit((x, y), val=(xv, yv), epochs=20)
"""
from . import metrics
from .callback import EVENTS, Callback
from .callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard, TerminateOnNaN
from .history import History
from .metrics import (MAE, MSE, R2, F1, Accuracy, ConfusionMatrix, Metric, Precision, Recall, TopKAccuracy,
                      get_metric)
from .progress import ProgressBar
from .trainer import Trainer, fit

__all__ = ["Trainer", "fit", "History", "Callback", "EVENTS", "ProgressBar", "CSVLogger", "EarlyStopping",
           "ModelCheckpoint",
           "TensorBoard", "TerminateOnNaN", "metrics", "Metric",
           "Accuracy", "TopKAccuracy", "ConfusionMatrix", "Precision", "Recall", "F1", "MSE", "MAE", "R2",
           "get_metric"]
