"""What callbacks that watch one logged value share: the ``mode`` (is lower or higher better), the
improvement test, and the end-of-first-epoch check that the value exists at all."""
import difflib
import math

__all__ = ["resolve_mode", "check_monitor", "closest", "Monitor"]

_HIGHER_IS_BETTER = ("acc", "top", "f1", "precision", "recall", "r2", "auc", "score")


def resolve_mode(monitor, mode, who):
    """'min' or 'max' for ``monitor``; ``mode='auto'``: 'max' for accuracy-like names, else 'min'."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    base = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if any(base.startswith(p) for p in _HIGHER_IS_BETTER) else "min"


def closest(name, choices):
    """The choice a typo most likely meant: one with the same letters (a transposition) first, else
    difflib's closest; None when nothing is close."""
    choices = list(choices)
    same_letters = [c for c in choices if sorted(c) == sorted(name)]
    if same_letters:
        return same_letters[0]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return close[0] if close else None


def check_monitor(monitor, logs, who):
    """Raise a ValueError naming the keys that exist (and the closest) when ``logs`` lacks ``monitor``."""
    if monitor in logs:
        return
    keys = sorted(logs)
    close = closest(monitor, keys)
    hint = f"; did you mean {close!r}?" if close else ""
    val_hint = (" (val_ values exist only when fit() is given val data)"
                if monitor.startswith("val_") and not any(k.startswith("val_") for k in keys) else "")
    raise ValueError(f"{who}: monitor {monitor!r} is not among the values the epoch produced: "
                     f"{', '.join(keys)}{hint}{val_hint}")


class Monitor:
    """Tracks the best value of one logged key."""

    def __init__(self, monitor, mode, min_delta, who):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"{who}: monitor must be the name of a logged value such as 'val_loss', "
                            f"got {monitor!r}")
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode, who)
        self.min_delta = abs(float(min_delta))
        self.who = who
        self.best = math.inf if self.mode == "min" else -math.inf
        self.checked = False

    def value(self, logs):
        """The monitored value from an epoch's logs (checked to exist the first time)."""
        if not self.checked:
            check_monitor(self.monitor, logs, self.who)
            self.checked = True
        return float(logs[self.monitor])

    def improved(self, current):
        if current != current:            # NaN never improves
            return False
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = float(state["best"])
