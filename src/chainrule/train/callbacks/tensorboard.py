"""``TensorBoard``: scalars (every logged value, the learning rate), weight and gradient histograms, written
with tensorboardX (the ``tensorboard`` extra) so ``tensorboard --logdir DIR`` shows them."""
import os

from ..callback import Callback

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Event files in ``log_dir`` (default: ``<Trainer log_dir>/tensorboard``).

    Per epoch (step = epoch number, from 1): ``epoch/<key>`` for every logged value (``loss``, ``val_loss``,
    ``accuracy``, ``lr``, ...); every ``histogram_freq`` epochs (0: never) ``weights/<param>`` and
    ``grads/<param>`` (the gradients of the epoch's last optimiser step). ``update_freq``: 'epoch', or an
    integer N to also write ``batch/<key>`` (running values) every N optimiser steps (step = global step)."""

    def __init__(self, log_dir=None, histogram_freq=1, update_freq="epoch"):
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ImportError('TensorBoard callback needs tensorboardX: pip install "chainrule[tensorboard]"') \
                from None
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch' or a positive integer, got {update_freq!r}")
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.update_freq = update_freq
        self._writer = None

    def on_fit_begin(self, trainer):
        if not trainer.is_global_zero:
            return
        log_dir = self.log_dir
        if log_dir is None:
            if trainer.log_dir is None:
                raise ValueError("TensorBoard: give it a log_dir, or give the Trainer one (log_dir=...)")
            log_dir = os.path.join(trainer.log_dir, "tensorboard")
        from tensorboardX import SummaryWriter
        self._writer = SummaryWriter(log_dir)
        self._grads = None
        self._last_logged_step = -1

    def _histograms_due(self, trainer):
        return self.histogram_freq > 0 and (trainer.epoch + 1) % self.histogram_freq == 0

    def on_before_optimizer_step(self, trainer, optimizer):
        if self._writer is None or not self._histograms_due(trainer):
            return
        last = trainer.num_batches is None or trainer.batch_idx + trainer.accumulate >= trainer.num_batches
        if last:                           # keep only the epoch's last gradients (a copy: zero_grad follows)
            self._grads = [(n, p.grad._data.copy()) for n, p in trainer.model.named_parameters()
                           if p.grad is not None]

    def on_batch_end(self, trainer, batch_idx, logs):
        if self._writer is None or self.update_freq == "epoch":
            return
        step = trainer.global_step
        if step % self.update_freq == 0 and step != self._last_logged_step:
            self._last_logged_step = step
            for k, v in logs.items():
                self._writer.add_scalar(f"batch/{k}", v, step)

    def on_epoch_end(self, trainer, epoch, logs):
        if self._writer is None:
            return
        step = epoch + 1
        for k, v in logs.items():
            self._writer.add_scalar(f"epoch/{k}", v, step)
        if self._histograms_due(trainer):
            for name, p in trainer.model.named_parameters():
                self._writer.add_histogram(f"weights/{name}", p._data, step)
            for name, g in self._grads or ():
                self._writer.add_histogram(f"grads/{name}", g, step)
            self._grads = None
        self._writer.flush()

    def on_fit_end(self, trainer):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
