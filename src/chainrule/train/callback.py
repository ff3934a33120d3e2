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
``model``, ``optimizer``, ``loss_fn``, ``scheduler``, ``epoch`` (0-based), ``epochs`` (the total asked
for), ``batch_idx`` (0-based within the epoch), ``num_batches`` (per epoch; None for a stream without
length), ``global_step`` (optimiser steps so far), ``accumulate``, ``train_loader``, ``val_loader``,
``stop_training`` (set True to stop after the current batch), ``history`` (a ``History``; callbacks add
end-of-run warnings with ``history.alarm(message, source=...)``, which land in ``history.alarms``),
``log_dir``, ``is_global_zero`` (False on MPI ranks other than 0: callbacks that write files or print
check it), and ``save_checkpoint(path)``.

``logs`` is a plain dict of floats: per batch ``{"loss": ..., <metric>: ...}`` (running values for the
epoch so far), per epoch the epoch's values plus ``val_``-prefixed validation values and ``lr`` (the
learning rate of the epoch's last optimiser step). Callbacks share the dict: a value one adds is seen
by the callbacks after it. Non-scalar metrics (per-class F1, confusion matrix) are not in ``logs``;
they are in ``history.arrays``.

Details that matter when writing one:

- ``on_before_optimizer_step`` sees the gradients the optimiser will use: averaged over the accumulated
  samples, before ``grad_clip`` is applied. A callback that sets every ``.grad`` to None there (e.g.
  ``optimizer.zero_grad()``) turns the step into a no-op.
- ``stop_training`` set during a batch ends ``fit`` after that batch: the unfinished epoch gets no
  validation, no ``on_epoch_end`` and no history entry. Set at ``on_epoch_end`` it stops after that epoch.
- Per-epoch schedulers have already stepped when ``on_epoch_end`` runs, so a checkpoint written there
  resumes the next epoch exactly. After a resume in the middle of an epoch, ``on_epoch_begin`` runs again
  for that epoch (``batch_idx`` then starts past the batches already done).

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
