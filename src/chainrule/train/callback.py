"""The callback contract of ``Trainer.fit``: one documented event set, called in a fixed order.

Order of events in one ``fit`` (user callbacks run in list order, before the built-in ones)::

    on_fit_begin
      for each epoch:
        on_epoch_begin
          for each batch:
            on_batch_begin
              (forward, loss)
              on_before_backward
              (loss.backward())
              on_after_backward
              on_before_optimizer_step      (only on steps where the optimiser steps: see ``accumulate``)
              (optimizer.step(); optimizer.zero_grad())
            on_batch_end
          on_validation_begin               (only when ``val`` data was given)
          on_validation_end
        on_epoch_end
    on_fit_end                              (also after an exception or ``stop_training``)

Every event receives the ``Trainer`` first. What the trainer exposes to callbacks:
``model``, ``optimizer``, ``loss_fn``, ``scheduler``, ``epoch`` (0-based), ``batch_idx`` (0-based within
the epoch), ``global_step`` (optimiser steps so far), ``stop_training`` (set True to stop after the
current batch), ``history`` (a ``History``), ``log_dir``, ``is_global_zero`` (False on MPI ranks other
than 0: callbacks that write files or print check it).

``logs`` is a plain dict of floats: per batch ``{"loss": ..., <metric>: ...}`` (running values for the
epoch so far), per epoch the epoch's values plus ``val_``-prefixed validation values and ``lr``.

A callback that keeps state which must survive a resume returns it from ``state_dict()`` (a dict of
JSON-serialisable values and NumPy arrays) and takes it back in ``load_state_dict()``.
"""

__all__ = ["Callback", "EVENTS"]

EVENTS = ("on_fit_begin", "on_epoch_begin", "on_batch_begin", "on_before_backward", "on_after_backward",
          "on_before_optimizer_step", "on_batch_end", "on_validation_begin", "on_validation_end",
          "on_epoch_end", "on_fit_end")


class Callback:
    """Base class: override the events you need; every default does nothing."""

    def on_fit_begin(self, trainer):
        pass

    def on_fit_end(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_batch_begin(self, trainer, batch_idx, batch):
        pass

    def on_batch_end(self, trainer, batch_idx, logs):
        pass

    def on_before_backward(self, trainer, loss):
        pass

    def on_after_backward(self, trainer):
        pass

    def on_before_optimizer_step(self, trainer, optimizer):
        pass

    def on_validation_begin(self, trainer):
        pass

    def on_validation_end(self, trainer, logs):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass
