"""``TerminateOnNaN``: stop at the first non-finite gradient, naming the parameter, before it reaches the
weights."""
import numpy as np

from ..callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Before each optimiser step, check the gradients; at the first parameter (in ``named_parameters``
    order) whose gradient holds a NaN or an infinity, drop this step's gradients (so the weights stay those
    of the last finite step), stop training, and say which parameter it was (printed, and added to
    ``history.alarms`` and ``history.stop_reason``)."""

    def __init__(self):
        self.message = None

    def on_fit_begin(self, trainer):
        self._names = [(name, p) for name, p in trainer.model.named_parameters()]
        self._loss = None
        self.message = None

    def on_before_backward(self, trainer, loss):
        self._loss = loss

    def on_before_optimizer_step(self, trainer, optimizer):
        for name, p in self._names:
            g = p.grad
            if g is None:
                continue
            a = g._data
            if np.isfinite(a.sum()) or np.isfinite(a).all():    # one cheap sum; the full check only if it is not
                continue
            nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
            loss = float(self._loss._data) if self._loss is not None else float("nan")
            self.message = (f"TerminateOnNaN: the gradient of {name!r} (shape {tuple(a.shape)}) is non-finite "
                            f"({nan} NaN, {inf} inf of {a.size} entries) at epoch {trainer.epoch + 1}, batch "
                            f"{trainer.batch_idx + 1} (loss {loss:.4g}); training stopped before this step, the "
                            f"weights are those of the last finite step. Try a lower learning rate or grad_clip=")
            optimizer.zero_grad(set_to_none=True)
            trainer.stop_training = True
            trainer.history.stop_reason = self.message
            trainer.history.alarm(self.message, source="TerminateOnNaN", epoch=trainer.epoch,
                                  step=trainer.global_step)
            return
