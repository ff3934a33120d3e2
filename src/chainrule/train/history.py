"""``History``: what ``Trainer.fit`` returns - per-epoch values, the run's parameters, and alarms."""
import math

__all__ = ["History"]


class History:
    """The record of one ``fit``.

    ``history``   dict of per-epoch lists, keyed as the epoch logs: ``loss``, ``val_loss``, ``accuracy``,
                  ``val_accuracy``, ``lr``, ... (Keras's layout: ``history.history["val_loss"][-1]``)
    ``epoch``     the 0-based epoch index of each entry
    ``arrays``    per-epoch non-scalar metric values (confusion matrices, per-class F1), keyed by name
    ``params``    the run's settings: ``epochs``, ``steps`` (batches per epoch), ``batch_size``, ...
    ``alarms``    things a callback wants the user to see at the end (e.g. exploding gradients); append
                  with ``alarm(message, source=...)``; ``summary()`` lists them
    ``stop_reason`` why training ended before ``epochs`` (early stopping, NaN, Ctrl-C), else None
    ``interrupted`` True after Ctrl-C; ``checkpoint`` is then the path of the checkpoint written
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.arrays = {}
        self.params = {}
        self.alarms = []
        self.stop_reason = None
        self.interrupted = False
        self.checkpoint = None

    # ------------------------------------------------------------------------------------------ recording
    def append(self, epoch, logs, arrays=None):
        """Record one epoch's scalar ``logs`` (and non-scalar ``arrays``). A key that first appears at a later
        epoch is padded with NaN for the earlier ones, so every list has one entry per epoch."""
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            self.history.setdefault(key, [math.nan] * n).append(float(value))
        for key, values in self.history.items():
            if len(values) == n:
                values.append(math.nan)
        for key, value in (arrays or {}).items():
            self.arrays.setdefault(key, []).append(value)

    def alarm(self, message, *, source=None, epoch=None, step=None):
        """Add an alarm for the end-of-run summary; returns it (a dict)."""
        entry = {"message": str(message), "source": source, "epoch": epoch, "step": step}
        self.alarms.append(entry)
        return entry

    # -------------------------------------------------------------------------------------------- reading
    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def last(self):
        """The last epoch's values as a dict (empty before the first epoch)."""
        return {k: v[-1] for k, v in self.history.items() if v}

    def summary(self, seconds=None):
        """A few lines for the end of a run: epochs, final values, why it stopped, alarms."""
        lines = []
        done = len(self.epoch)
        total = self.params.get("epochs")
        head = f"{done} epoch{'s' if done != 1 else ''}" + (f" of {total}" if total and total != done else "")
        if seconds is not None:
            head += f" in {_duration(seconds)}"
        lines.append("trained " + head)
        last = self.last()
        if last:
            lines.append("final: " + format_logs(last))
        if self.stop_reason:
            lines.append("stopped: " + self.stop_reason)
        if self.checkpoint:
            lines.append(f"checkpoint: {self.checkpoint}")
        if self.alarms:
            lines.append(f"{len(self.alarms)} alarm{'s' if len(self.alarms) != 1 else ''}:")
            for a in self.alarms:
                lines.append("  - " + _alarm_text(a))
        return "\n".join(lines)

    def plot(self, path=None, keys=None, title=None):
        """The training curves as a matplotlib Figure (saved to ``path`` when given); see ``plot_history``."""
        from .plot import plot_history           # the plotting code loads on first use
        return plot_history(self, path, keys, title)

    # ---------------------------------------------------------------------------------------- checkpoints
    def state_dict(self):
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch),
                "arrays": {k: list(v) for k, v in self.arrays.items()},
                "alarms": [a if isinstance(a, (dict, str)) else str(a) for a in self.alarms],
                "stop_reason": self.stop_reason}

    def load_state_dict(self, state):
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.arrays = {k: list(v) for k, v in state.get("arrays", {}).items()}
        self.alarms = list(state.get("alarms", []))
        self.stop_reason = state.get("stop_reason")

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)}, alarms={len(self.alarms)})"


def _alarm_text(a):
    if not isinstance(a, dict):
        return str(a)
    where = ", ".join(f"{k} {a[k]}" for k in ("epoch", "step") if a.get(k) is not None)
    src = f"[{a['source']}] " if a.get("source") else ""
    return src + a.get("message", "") + (f" ({where})" if where else "")


def format_value(v):
    """A metric value for a log line: 4 significant digits, scientific when tiny or huge."""
    if isinstance(v, float) and (v != v or v in (math.inf, -math.inf)):
        return str(v)
    a = abs(v)
    return f"{v:.4g}" if a == 0 or 1e-3 <= a < 1e5 else f"{v:.3e}"


def format_logs(logs):
    return "  ".join(f"{k} {format_value(v)}" for k, v in logs.items())


def _duration(s):
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"
