"""``Trainer``: the training loop, written once - forward, loss, backward, (accumulated) optimiser step,
metrics, validation, callbacks, checkpoints and exact resume.

    trainer = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss(),
                      metrics=["accuracy"], callbacks=[EarlyStopping("val_loss", patience=3)])
    history = trainer.fit((x_train, y_train), val=(x_val, y_val), epochs=10, batch_size=64)
    trainer.evaluate((x_test, y_test))      # {"loss": ..., "accuracy": ...}
    trainer.predict(x_test)                 # the model's outputs, concatenated

The event order is documented in ``callback.py``. A batch is ``(inputs, target)``; subclass and override
``unpack_batch`` for other layouts. ``loss_fn`` must return the batch *mean* (reduction='mean'): gradient
accumulation and the epoch's running loss weight each batch by its number of samples.
"""
import contextlib
import copy
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from .. import optim
from ..autograd.grad_mode import no_grad
from ..ops.shape import cat
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..random import manual_seed
from ..serialization import load as _load, save as _save
from ..tensor import Tensor, _make
from .callback import EVENTS, Callback
from .callbacks.csv_logger import CSVLogger
from .callbacks.monitor import check_monitor, closest
from .data import as_loader, loader_generators
from .history import History
from .metrics import get_metric
from .progress import ProgressBar
from .rng import capture_rng, restore_rng

__all__ = ["Trainer", "fit", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "chainrule.train/1"
_NO_CONTEXT = contextlib.nullcontext()


class _Interrupted(Exception):
    """Ctrl-C arrived; raised at the next batch boundary, where the state is consistent."""


class Trainer:
    """Trains ``model`` with ``optimizer`` on ``loss_fn(model(x), y)``.

    ``metrics``     names ("accuracy", "top5", "f1", "mse", ...) or ``Metric`` objects, computed on the
                    training batches (running) and on ``val`` (prefixed ``val_``)
    ``scheduler``   any ``chainrule.optim.lr_scheduler`` scheduler, stepped once per epoch (after validation)
                    or, with ``scheduler_interval="step"``, after every optimiser step; ``ReduceLROnPlateau``
                    is stepped with ``scheduler_monitor`` (default 'val_loss' when there is val data, else
                    'loss')
    ``callbacks``   ``Callback`` objects, called in list order before the built-in ones (progress, CSV log)
    ``grad_clip``   clip the gradients' total L2 norm to this value before each optimiser step
    ``accumulate``  optimiser step every ``accumulate`` batches on the mean gradient over all their samples
                    (so ``accumulate=4`` with batches of 8 trains as batches of 32)
    ``seed``        seeds chainrule's global generator at the start of ``fit`` (shuffling, dropout, ...)
    ``log_dir``     folder for ``metrics.csv`` (a ``CSVLogger`` is added) and the Ctrl-C checkpoint
    ``verbose``     1: progress bar on a terminal, one line per epoch otherwise; 0: silent
    ``distributed`` True: data-parallel over the MPI ranks of an ``mpiexec`` launch (gradients averaged,
                    each rank its shard of every batch, values reduced, files written by rank 0; see
                    ``chainrule.distributed.training``); in a plain process the same as False but for
                    the shuffle order (a DistributedSampler's, the same under any world size)
    """

    def __init__(self, model, optimizer, loss_fn, metrics=(), scheduler=None, callbacks=(), grad_clip=None,
                 accumulate=1, seed=None, log_dir=None, verbose=1, *, scheduler_interval="epoch",
                 scheduler_monitor=None, distributed=False):
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(f"Trainer: model must be a chainrule.nn.Module, got {type(model).__name__}")
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "param_groups"):
            raise TypeError(f"Trainer: optimizer must be a chainrule.optim optimiser, got "
                            f"{type(optimizer).__name__}. Fix: cr.optim.SGD(model.parameters(), lr=0.1)")
        if not callable(loss_fn):
            raise TypeError(f"Trainer: loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got "
                            f"{type(loss_fn).__name__}")
        if not _is_int(accumulate) or accumulate < 1:
            raise ValueError(f"Trainer: accumulate must be a positive integer (batches per optimiser step), got "
                             f"{accumulate!r}")
        if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and not isinstance(grad_clip, bool)
                                          and grad_clip > 0 and math.isfinite(grad_clip)):
            raise ValueError(f"Trainer: grad_clip must be a positive number (the max total gradient norm) or "
                             f"None, got {grad_clip!r}")
        if seed is not None and not _is_int(seed):
            raise TypeError(f"Trainer: seed must be an integer or None, got {seed!r}")
        if verbose not in (0, 1, True, False):
            raise ValueError(f"Trainer: verbose must be 0 (silent) or 1 (progress), got {verbose!r}")
        if not isinstance(distributed, bool):
            raise TypeError(f"Trainer: distributed must be True or False, got {distributed!r}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
        if scheduler is not None and not hasattr(scheduler, "step"):
            raise TypeError(f"Trainer: scheduler must be a chainrule.optim.lr_scheduler scheduler, got "
                            f"{type(scheduler).__name__}")
        if isinstance(scheduler, ReduceLROnPlateau) and scheduler_interval == "step":
            raise ValueError("Trainer: ReduceLROnPlateau watches a per-epoch value; use scheduler_interval='epoch'")
        if isinstance(metrics, (str, bytes)) or not hasattr(metrics, "__iter__"):
            metrics = [metrics]
        callbacks = list(callbacks or ())
        for cb in callbacks:
            if not any(callable(getattr(cb, ev, None)) for ev in EVENTS):
                raise TypeError(f"Trainer: callbacks must be Callback objects, got {type(cb).__name__}")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.metrics = [get_metric(m) for m in metrics]
        names = [m.name for m in self.metrics]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Trainer: two metrics are named {dup[0]!r}; give one another name (name=...)")
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor
        self.callbacks = callbacks
        self.grad_clip = grad_clip
        self.accumulate = accumulate
        self.seed = seed
        self.log_dir = os.fspath(log_dir) if log_dir is not None else None
        self.verbose = int(verbose)
        self.is_global_zero = True          # False on MPI ranks other than 0 (distributed training)
        self.distributed = distributed
        self._dist = None                   # chainrule.distributed.training.TrainerSync, made at the first fit
        # what callbacks read while fit runs
        self.epoch = 0
        self.epochs = 0
        self.batch_idx = 0
        self.global_step = 0
        self.num_batches = None             # batches per epoch (None for a stream without len)
        self.stop_training = False
        self.history = History()
        self.train_loader = self.val_loader = None
        self._builtin = []
        self._sigint = False

    # ============================================================================================== fit
    def fit(self, train, val=None, epochs=1, resume=None, *, batch_size=32, shuffle=True):
        """Train for ``epochs`` epochs (in total: a resumed run continues up to the same number).

        ``train``/``val``: a DataLoader, a Dataset, or ``(x, y)`` arrays (NumPy or Tensors; ``batch_size`` and
        ``shuffle`` apply to the latter two). ``resume``: path of a checkpoint written by this trainer
        (``save_checkpoint``, ``ModelCheckpoint``, or Ctrl-C) - model, optimiser, scheduler, callbacks, position
        and random states are restored, so the run continues exactly as if never stopped.
        Returns the ``History``."""
        if not _is_int(epochs) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
        dtype = self._float_dtype()
        self.train_loader = as_loader(train, batch_size=batch_size, shuffle=shuffle, what="fit: train",
                                      float_dtype=dtype)
        self.val_loader = (as_loader(val, batch_size=batch_size, shuffle=False, what="fit: val", float_dtype=dtype)
                           if val is not None else None)
        self.epochs = epochs
        self.num_batches = _length(self.train_loader)
        self.history = History()
        self.stop_training = False
        self._sigint = False
        self._position = None
        self._lr_used = None
        self._val_metrics = [_fresh(m) for m in self.metrics]
        self._setup_callbacks()
        start_epoch, skip = 0, 0
        self.global_step = 0
        resume_state = None
        if resume is not None:
            resume_state = self._load_resume(resume)
            start_epoch, skip = int(resume_state["position"]["epoch"]), int(resume_state["position"]["batch"])
        elif self.seed is not None:
            manual_seed(self.seed)
        if self.distributed:
            self._setup_distributed()
        if skip:
            self._check_resume_world_size(resume_state["position"])
        self.history.params = {"epochs": epochs, "steps": self.num_batches, "batch_size":
                               getattr(self.train_loader, "batch_size", None), "accumulate": self.accumulate,
                               "samples": _length(getattr(self.train_loader, "dataset", None)),
                               "metrics": [m.name for m in self.metrics], "verbose": self.verbose}
        restore = self._install_sigint()
        t0 = time.perf_counter()
        try:
            self._call("on_fit_begin")
            for epoch in range(start_epoch, epochs):
                self._run_epoch(epoch, skip, resume_state)
                skip, resume_state = 0, None
                if self.stop_training:
                    break
        except _Interrupted:
            self.history.interrupted = True
            self.history.stop_reason = self.history.stop_reason or "interrupted (Ctrl-C)"
            path = self._interrupt_path()
            if self.is_global_zero:
                self.save_checkpoint(path)
            self.history.checkpoint = path
            if self.verbose and self.is_global_zero:
                print(f"\ninterrupted: checkpoint saved to {path}; continue with fit(..., resume={path!r})",
                      file=sys.stderr, flush=True)
        finally:
            restore()
            self.history.params["seconds"] = time.perf_counter() - t0
            self._call("on_fit_end")
        return self.history

    def _run_epoch(self, epoch, skip, resume_state):
        self.epoch = epoch
        self.model.train()
        self._reset_running()
        resumed = resume_state is not None and skip > 0      # mid-epoch: replay the epoch's order, skip, go on
        if resumed:
            self._load_running(resume_state)
        self._call("on_epoch_begin", epoch)
        if self._dist is not None:
            self._dist.begin_epoch(self.train_loader, epoch)
        gens = loader_generators(self.train_loader)
        if resumed:
            restore_rng(resume_state["rng"]["epoch_start"], gens)
        self._rng_epoch_start = capture_rng(gens)
        it = iter(self.train_loader)
        if resumed:
            _skip_batches(it, self.train_loader, skip)
            restore_rng(resume_state["rng"]["now"], gens)
        self._run_batches(it, skip)
        if not self.stop_training or self._batches_done == self.num_batches:
            self._finish_epoch(epoch)

    def _run_batches(self, it, start):
        on_batch_begin, on_batch_end = self._handlers["on_batch_begin"], self._handlers["on_batch_end"]
        on_before_backward = self._handlers["on_before_backward"]
        on_after_backward = self._handlers["on_after_backward"]
        on_before_step = self._handlers["on_before_optimizer_step"]
        model, loss_fn, optimizer, metrics = self.model, self.loss_fn, self.optimizer, self.metrics
        dist = self._dist
        if dist is not None:
            model = dist.forward_model(model)
        accumulate, last = self.accumulate, (self.num_batches - 1 if self.num_batches is not None else -1)
        per_step_scheduler = self.scheduler if self.scheduler_interval == "step" else None
        i = start - 1
        for i, batch in enumerate(it, start):
            self.batch_idx = i
            for h in on_batch_begin:
                h(self, i, batch)
            x, y = self.unpack_batch(batch)
            out = model(x)
            loss = loss_fn(out, y)
            n = _batch_len(x)
            loss_value = _scalar(loss)
            for h in on_before_backward:
                h(self, loss)
            steps_now = self._accum_batches + 1 == accumulate or i == last
            with (dist.backward_context(steps_now) if dist is not None else _NO_CONTEXT):
                if accumulate == 1:
                    loss.backward()
                else:                      # sum of per-sample losses; divided by the step's sample count below
                    (loss * n).backward()
            for h in on_after_backward:
                h(self)
            self._accum_n += n
            self._accum_batches += 1
            if self._accum_batches == accumulate or i == last:
                self._optimizer_step(on_before_step, per_step_scheduler)
            self._loss_sum += loss_value * n
            self._seen += n
            if metrics:
                out_data, y_data = _array(out), _array(y)
                for m in metrics:
                    m.update(out_data, y_data)
            self._batches_done = i + 1
            if on_batch_end:
                logs = self._running_logs()
                for h in on_batch_end:
                    h(self, i, logs)
            if dist is not None:           # every rank stops (or is interrupted) at the same batch
                self.stop_training, self._sigint = dist.agree(self.stop_training, self._sigint)
            if self._sigint:
                raise _Interrupted
            if self.stop_training:
                break
        if self._accum_batches and not self.stop_training:   # a stream of unknown length ended mid-accumulation
            self._optimizer_step(on_before_step, per_step_scheduler)

    def _optimizer_step(self, on_before_step, per_step_scheduler):
        if self.accumulate > 1:
            scale = 1.0 / self._accum_n
            for group in self.optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is not None:
                        np.multiply(g._data, scale, out=g._data, casting="unsafe")
                        g._vc[0] += 1
        for h in on_before_step:
            h(self, self.optimizer)
        if self.grad_clip is not None:
            from ..nn.utils import clip_grad_norm_  # nn loads on first use, not with train
            params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
            if params:
                clip_grad_norm_(params, self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.global_step += 1
        self._accum_n = self._accum_batches = 0
        if per_step_scheduler is not None:
            self._lr_used = self.optimizer.param_groups[0]["lr"]
            per_step_scheduler.step()

    def _finish_epoch(self, epoch):
        if self.val_loader is not None:
            self._call("on_validation_begin")
            val_logs, val_arrays = self._evaluate_loader(self.val_loader, self._val_metrics, "val_")
            self._call("on_validation_end", val_logs)
        else:
            val_logs, val_arrays = {}, {}
        logs, arrays = self._epoch_logs()
        logs.update(val_logs)
        arrays.update(val_arrays)
        # the learning rate of the epoch's last optimiser step (a per-step scheduler has moved it on since)
        stepped = self.scheduler is not None and self.scheduler_interval == "step" and self._lr_used is not None
        logs["lr"] = float(self._lr_used if stepped else self.optimizer.param_groups[0]["lr"])
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self._step_epoch_scheduler(logs)
        self.history.append(epoch, logs, arrays)
        self._position = (epoch + 1, 0)
        self._call("on_epoch_end", epoch, logs)
        if self._sigint and epoch + 1 < self.epochs and not self.stop_training:
            raise _Interrupted

    def _step_epoch_scheduler(self, logs):
        if isinstance(self.scheduler, ReduceLROnPlateau):
            key = self.scheduler_monitor or ("val_loss" if self.val_loader is not None else "loss")
            check_monitor(key, logs, "ReduceLROnPlateau (Trainer scheduler_monitor)")
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()

    # ---------------------------------------------------------------------------- running values, logs
    def _reset_running(self):
        self._loss_sum, self._seen, self._batches_done = 0.0, 0, 0
        self._accum_n = self._accum_batches = 0
        for m in self.metrics:
            m.reset()

    def _running_logs(self):
        logs = {"loss": self._loss_sum / self._seen if self._seen else math.nan}
        for m in self.metrics:
            if getattr(m, "scalar", True):
                logs[m.name] = float(m.compute())
        return logs

    def _epoch_logs(self):
        """The one place where an epoch's training values are formed from the running sums (distributed
        training reduces ``_loss_sum``, ``_seen`` and the metrics' states across ranks here)."""
        return _logs_from(*self._reduced(self._loss_sum, self._seen, self.metrics), "")

    def _reduced(self, loss_sum, seen, metrics):
        """The sums over every rank (as they are in one process)."""
        if self._dist is None:
            return loss_sum, seen, metrics
        return self._dist.reduce(loss_sum, seen, metrics)

    def _check_resume_world_size(self, position):
        """A mid-epoch position counts this rank's batches: it means the same samples only at the same world size."""
        saved, now = int(position.get("world_size", 1)), self._dist.size if self._dist is not None else 1
        if saved != now:
            raise ValueError(f"fit(resume=...): the checkpoint was written in the middle of epoch "
                             f"{int(position['epoch']) + 1} by {saved} process(es); on {now} the rest of that epoch "
                             f"would be different samples. Resume it with mpiexec -n {saved}, or resume a "
                             f"checkpoint taken at the end of an epoch (ModelCheckpoint, the end of fit): those "
                             f"resume under any world size")

    def _setup_distributed(self):
        from ..distributed.training import TrainerSync  # distributed (MPI) loads only when used
        if self._dist is None:
            self._dist = TrainerSync(self)
        self.train_loader = self._dist.shard(self.train_loader, True)
        self.val_loader = self._dist.shard(self.val_loader, False)
        self.num_batches = _length(self.train_loader)

    # ======================================================================================= evaluation
    def evaluate(self, data, *, batch_size=32):
        """Loss and metrics of the model on ``data`` (a DataLoader, Dataset or ``(x, y)``), in eval mode,
        without gradients. Returns a dict ``{"loss": ..., <metric>: ...}`` (arrays for per-class metrics)."""
        loader = as_loader(data, batch_size=batch_size, shuffle=False, what="evaluate",
                           float_dtype=self._float_dtype())
        if self._dist is not None:                   # each rank evaluates its share; the sums are reduced
            loader = self._dist.shard(loader, False)
        logs, arrays = self._evaluate_loader(loader, [_fresh(m) for m in self.metrics], "")
        logs.update(arrays)
        return logs

    def _evaluate_loader(self, loader, metrics, prefix):
        was_training = self.model.training
        self.model.eval()
        loss_sum, seen = 0.0, 0
        for m in metrics:
            m.reset()
        try:
            with no_grad():
                for batch in loader:
                    x, y = self.unpack_batch(batch)
                    out = self.model(x)
                    n = _batch_len(x)
                    loss_sum += _scalar(self.loss_fn(out, y)) * n
                    seen += n
                    if metrics:
                        out_data, y_data = _array(out), _array(y)
                        for m in metrics:
                            m.update(out_data, y_data)
        finally:
            self.model.train(was_training)
        return _logs_from(*self._reduced(loss_sum, seen, metrics), prefix)

    def predict(self, data, *, batch_size=32):
        """The model's outputs on ``data`` (a DataLoader, Dataset, arrays ``x`` or ``(x, y)``), in eval mode,
        without gradients, concatenated along dim 0 into one Tensor."""
        loader = as_loader(data, batch_size=batch_size, shuffle=False, what="predict",
                           float_dtype=self._float_dtype(), labelled=False)
        was_training = self.model.training
        self.model.eval()
        outs = []
        try:
            with no_grad():
                for batch in loader:
                    x = batch[0] if isinstance(batch, (list, tuple)) else batch
                    outs.append(self.model(x))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict: the data is empty")
        return cat(outs) if len(outs) > 1 else outs[0]

    def unpack_batch(self, batch):
        """``(inputs, target)`` from a batch. Override for other layouts (dicts, several inputs)."""
        if isinstance(batch, (list, tuple)) and len(batch) == 2:
            return batch[0], batch[1]
        got = f"a {type(batch).__name__}" + (f" of {len(batch)} items" if isinstance(batch, (list, tuple)) else "")
        raise TypeError(f"Trainer: a batch must be (inputs, target), got {got}. Fix: make the dataset yield "
                        f"(x, y) pairs, or subclass Trainer and override unpack_batch(batch)")

    # ====================================================================================== checkpoints
    def state_dict(self):
        """Everything needed to continue training exactly: model, optimiser, scheduler, callbacks' states,
        position (epoch, batch, step), random states, history so far, and the epoch's running sums (and the
        pending gradients in the middle of an accumulation)."""
        epoch, batch = self._position_now()
        gens = loader_generators(self.train_loader) if self.train_loader is not None else []
        state = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
            "position": {"epoch": epoch, "batch": batch, "global_step": self.global_step},
            "rng": {"now": capture_rng(gens),
                    "epoch_start": getattr(self, "_rng_epoch_start", None) if batch else None},
            "history": self.history.state_dict(),
            "running": None,
        }
        if self._dist is not None:               # a mid-epoch batch count means this many ranks' batches
            state["position"]["world_size"] = self._dist.size
        if batch:
            state["running"] = {
                "loss_sum": self._loss_sum, "seen": self._seen, "batches_done": self._batches_done,
                "accum_n": self._accum_n, "accum_batches": self._accum_batches, "lr_used": self._lr_used,
                "metrics": [m.state_dict() for m in self.metrics],
                "grads": {name: p.grad._data for name, p in self.model.named_parameters()
                          if p.grad is not None} if self._accum_batches else {},
            }
        return state

    def save_checkpoint(self, path):
        """Write ``state_dict()`` to ``path`` with ``chainrule.save`` (safetensors, atomic)."""
        if not self.is_global_zero:                  # distributed: the replicas are identical, rank 0 writes
            return os.fspath(path)
        d = os.path.dirname(os.path.abspath(os.fspath(path)))
        os.makedirs(d, exist_ok=True)
        _save(self.state_dict(), path, metadata={"format": CHECKPOINT_FORMAT})
        return os.fspath(path)

    def _position_now(self):
        """(epoch to run, batches of it already done)."""
        pos = getattr(self, "_position", None)
        if pos is not None and pos[0] > self.epoch:
            return pos
        return self.epoch, getattr(self, "_batches_done", 0)

    def _load_resume(self, path):
        state = _load(path)
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"fit(resume={os.fspath(path)!r}): not a training checkpoint (written by "
                             f"Trainer.save_checkpoint / ModelCheckpoint / Ctrl-C). A weights-only file loads "
                             f"with model.load_state_dict(chainrule.load(path)) instead")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError(f"fit(resume=...): the checkpoint was written by a run "
                             f"{'without' if state['scheduler'] is None else 'with'} a scheduler, this Trainer "
                             f"has {'one' if self.scheduler is not None else 'none'}; build it as that run did")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        saved = state["callbacks"]
        for key, cb in self._keyed_callbacks():
            if key in saved:
                cb.load_state_dict(saved[key])
        self.history.load_state_dict(state["history"])
        pos = state["position"]
        self.global_step = int(pos["global_step"])
        self._position = None
        if not int(pos["batch"]):
            restore_rng(state["rng"]["now"], loader_generators(self.train_loader))
            state = dict(state, rng=None)
        return state

    def _load_running(self, state):
        run = state["running"]
        if run is None:
            return
        self._loss_sum, self._seen = float(run["loss_sum"]), int(run["seen"])
        self._batches_done = int(run["batches_done"])
        self._accum_n, self._accum_batches = int(run["accum_n"]), int(run["accum_batches"])
        self._lr_used = run["lr_used"]
        for m, s in zip(self.metrics, run["metrics"]):
            m.load_state_dict(s)
        if run["grads"]:
            params = dict(self.model.named_parameters())
            for name, g in run["grads"].items():
                params[name].grad = _make(np.array(g))

    def _interrupt_path(self):
        return os.path.join(self.log_dir or ".", "interrupted.safetensors")

    def _keyed_callbacks(self):
        seen = {}
        for cb in self.callbacks + self._builtin:
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            yield (name if seen[name] == 1 else f"{name}#{seen[name]}"), cb

    # ======================================================================================== plumbing
    def _setup_callbacks(self):
        builtin = []
        if self.verbose and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            builtin.append(ProgressBar())
        if self.log_dir is not None and not any(isinstance(cb, CSVLogger) for cb in self.callbacks):
            builtin.append(CSVLogger(os.path.join(self.log_dir, "metrics.csv")))
        self._builtin = builtin
        every = self.callbacks + builtin
        self._handlers = {ev: [getattr(cb, ev) for cb in every if _overrides(cb, ev)] for ev in EVENTS}

    def _call(self, event, *args):
        for h in self._handlers[event]:
            h(self, *args)

    def _install_sigint(self):
        """Ctrl-C sets a flag that the loop checks after each batch (so the checkpoint it writes is at a
        consistent point); a second Ctrl-C interrupts at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        try:
            previous = signal.getsignal(signal.SIGINT)
        except (ValueError, OSError):
            return lambda: None
        if previous is not signal.default_int_handler:
            return lambda: None              # someone else handles Ctrl-C (or it is ignored): leave it

        def handler(signum, frame):
            self._sigint = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, handler)

        def restore():
            if signal.getsignal(signal.SIGINT) is handler:
                signal.signal(signal.SIGINT, previous)
        return restore

    def _float_dtype(self):
        for p in self.model.parameters():
            if p._data.dtype.kind == "f":
                return p._data.dtype
        return None


# ============================================================================================ helpers
def fit(model, train, val=None, *, epochs=1, optimizer="adam", lr=None, loss=None, metrics=(), batch_size=32,
        callbacks=(), **trainer_kwargs):
    """One call: build a Trainer and fit. ``optimizer``: an optimiser object or a name ('sgd', 'adam',
    'adamw', 'rmsprop', ...; ``lr`` its learning rate); ``loss``: a loss module/function, default
    CrossEntropyLoss. Returns the ``History`` (the trainer is ``history.trainer``)."""
    from .. import nn                            # nn loads on first use, not with train
    if isinstance(optimizer, str):
        names = {n.lower(): n for n in dir(optim) if isinstance(getattr(optim, n), type)
                 and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"}
        key = optimizer.lower()
        if key not in names:
            close = closest(key, names)
            raise ValueError(f"fit: unknown optimiser {optimizer!r}"
                             + (f"; did you mean {close!r}?" if close else "")
                             + f" Known: {', '.join(sorted(names))}")
        cls = getattr(optim, names[key])
        kwargs = {} if lr is None else {"lr": lr}
        if lr is None and key == "sgd":
            kwargs["lr"] = 0.01
        optimizer = cls(model.parameters(), **kwargs)
    elif lr is not None:
        raise ValueError("fit: lr= sets the learning rate of an optimiser named by string; with an optimiser "
                         "object, give the learning rate to it")
    trainer = Trainer(model, optimizer, loss if loss is not None else nn.CrossEntropyLoss(), metrics=metrics,
                      callbacks=callbacks, **trainer_kwargs)
    history = trainer.fit(train, val, epochs=epochs, batch_size=batch_size)
    history.trainer = trainer
    return history


def _logs_from(loss_sum, seen, metrics, prefix):
    logs = {prefix + "loss": loss_sum / seen if seen else math.nan}
    arrays = {}
    for m in metrics:
        v = m.compute()
        if isinstance(v, np.ndarray) and v.ndim > 0:
            arrays[prefix + m.name] = v
        else:
            logs[prefix + m.name] = float(v)
    return logs, arrays


def _fresh(metric):
    m = copy.deepcopy(metric)
    m.reset()
    return m


def _overrides(cb, event):
    fn = getattr(type(cb), event, None)
    return fn is not None and fn is not getattr(Callback, event)


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _length(obj):
    try:
        return len(obj)
    except TypeError:
        return None


def _batch_len(x):
    if isinstance(x, (Tensor, np.ndarray)):
        return int(x.shape[0]) if x.ndim else 1
    if isinstance(x, (list, tuple)) and x:
        return _batch_len(x[0])
    if isinstance(x, dict) and x:
        return _batch_len(next(iter(x.values())))
    raise TypeError(f"Trainer: cannot tell the batch size of inputs of type {type(x).__name__}")


def _scalar(loss):
    if not isinstance(loss, Tensor):
        raise TypeError(f"Trainer: loss_fn must return a Tensor (the batch's mean loss), got {type(loss).__name__}")
    if loss._data.size != 1:
        raise ValueError(f"Trainer: loss_fn returned a tensor of shape {tuple(loss.shape)}; it must be a scalar, "
                         f"the batch mean. Fix: reduction='mean' (the default)")
    return float(loss._data.reshape(()))


def _array(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _skip_batches(it, loader, k):
    """Advance a fresh epoch iterator past ``k`` batches. A map-style DataLoader's iterator skips index
    batches without reading the samples; anything else reads and drops them."""
    inner = getattr(it, "_it", None)
    if inner is not None and getattr(loader, "batch_sampler", None) is not None and \
            getattr(it, "_next", None) == getattr(it, "_next_batch", object()):
        for _ in range(k):
            next(inner)
        return
    for _ in range(k):
        next(it)
