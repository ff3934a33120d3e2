"""``EarlyStopping``: stop when a logged value stops improving; put the best weights back at the end."""
import numpy as np

from ...tensor import _make
from ..callback import Callback
from .monitor import Monitor

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode``: 'min', 'max' or 'auto' (max for accuracy-like names). ``restore_best``: at the end of ``fit`` -
    whether or not it stopped early - load the weights of the best epoch (kept in memory, and in
    checkpoints so a resumed run still restores them). A ``monitor`` that no epoch logs is an error at the
    end of the first epoch."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best=True):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer (epochs), got {patience!r}")
        self._mon = Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.monitor, self.mode, self.min_delta = self._mon.monitor, self._mon.mode, self._mon.min_delta
        self.patience = patience
        self.restore_best = restore_best
        self._reset()

    def _reset(self):
        self._mon.best = Monitor(self.monitor, self.mode, 0, "").best
        self._mon.checked = False
        self.wait = 0
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    @property
    def best(self):
        return self._mon.best

    def on_fit_begin(self, trainer):
        if len(trainer.history) == 0:          # a fresh run (a resumed one keeps the loaded state)
            self._reset()

    def on_epoch_end(self, trainer, epoch, logs):
        current = self._mon.value(logs)
        if self._mon.improved(current):
            self._mon.best = current
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best:
                self.best_weights = {k: v._data.copy() for k, v in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch
            best = "none" if self.best_epoch is None else f"{self._mon.best:.4g} at epoch {self.best_epoch + 1}"
            trainer.history.stop_reason = (f"early stopping: {self.monitor} did not improve for {self.wait} "
                                           f"epoch{'s' if self.wait != 1 else ''} (best {best})")

    def on_fit_end(self, trainer):
        if self.restore_best and self.best_weights is not None:
            trainer.model.load_state_dict({k: _make(np.array(v)) for k, v in self.best_weights.items()})

    def state_dict(self):
        return {"best": self._mon.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights,
                "checked": self._mon.checked}

    def load_state_dict(self, state):
        self._mon.best = float(state["best"])
        self._mon.checked = bool(state.get("checked", False))
        self.wait = int(state["wait"])
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        bw = state["best_weights"]
        self.best_weights = None if bw is None else {k: np.array(v) for k, v in bw.items()}
