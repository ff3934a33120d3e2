"""``ModelCheckpoint``: save the best, the last and every n-th epoch's state with ``chainrule.save``
(safetensors, written atomically: a crash mid-save leaves the previous file intact)."""
import os

from ...serialization import save as _save
from ..callback import Callback
from .monitor import Monitor

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Writes into ``dirpath``:

    ``best.safetensors``         when ``save_best`` and ``monitor`` improved (a ``monitor`` no epoch logs is an
                                 error at the end of the first epoch - never a checkpoint silently not saved)
    ``last.safetensors``         after every epoch when ``save_last``
    ``epoch{N:04d}.safetensors`` every ``every_n_epochs`` epochs (N counted from 1)

    By default each file is a full training checkpoint (``Trainer.fit(resume=path)`` continues from it; its
    weights are under the key ``"model"``). ``weights_only=True``: the plain ``model.state_dict()`` instead,
    which ``model.load_state_dict(chainrule.load(path))`` and other safetensors tools read."""

    def __init__(self, dirpath, monitor="val_loss", mode="auto", save_best=True, save_last=True,
                 every_n_epochs=None, weights_only=False):
        if every_n_epochs is not None and (not isinstance(every_n_epochs, int) or isinstance(every_n_epochs, bool)
                                           or every_n_epochs < 1):
            raise ValueError(f"ModelCheckpoint: every_n_epochs must be a positive integer or None, got "
                             f"{every_n_epochs!r}")
        if save_best and monitor is None:
            raise ValueError("ModelCheckpoint: save_best=True needs a monitor (e.g. 'val_loss'); or save_best=False")
        self.dirpath = os.fspath(dirpath)
        self.monitor = monitor
        self._mon = Monitor(monitor, mode, 0.0, "ModelCheckpoint") if save_best else None
        self.save_best, self.save_last, self.every_n_epochs = save_best, save_last, every_n_epochs
        self.weights_only = weights_only
        self.best_path = None
        self.last_path = None

    @property
    def best(self):
        return self._mon.best if self._mon is not None else None

    def on_fit_begin(self, trainer):
        if len(trainer.history) == 0 and self._mon is not None:
            self._mon = Monitor(self.monitor, self._mon.mode, 0.0, "ModelCheckpoint")
            self.best_path = None

    def on_epoch_end(self, trainer, epoch, logs):
        improved = False
        if self._mon is not None:
            current = self._mon.value(logs)        # checked on every rank: the error is the same everywhere
            improved = self._mon.improved(current)
            if improved:
                self._mon.best = current
        if not trainer.is_global_zero:
            return
        if improved:
            self.best_path = self._write(trainer, "best.safetensors")
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self._write(trainer, f"epoch{epoch + 1:04d}.safetensors")
        if self.save_last:
            self.last_path = self._write(trainer, "last.safetensors")

    def _write(self, trainer, name):
        path = os.path.join(self.dirpath, name)
        if self.weights_only:
            os.makedirs(self.dirpath, exist_ok=True)
            _save(trainer.model.state_dict(), path)
        else:
            trainer.save_checkpoint(path)
        return path

    def state_dict(self):
        return {"best": self.best, "best_path": self.best_path, "checked": bool(self._mon and self._mon.checked)}

    def load_state_dict(self, state):
        if self._mon is not None and state.get("best") is not None:
            self._mon.best = float(state["best"])
            self._mon.checked = bool(state.get("checked", False))
        self.best_path = state.get("best_path")
