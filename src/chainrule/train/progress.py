"""``ProgressBar``: a live bar (steps/s, ETA, running loss and metrics) when stdout is a terminal; one plain
line per epoch - no carriage returns - when it is a file or a CI log.

The live bar uses tqdm (the ``progress`` extra) when it is installed, else a small built-in one.
"""
import sys
import time

from .callback import Callback
from .history import _alarm_text, _duration, format_logs

__all__ = ["ProgressBar"]


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar(Callback):
    """``live``: True/False forces the mode (default: live when ``stream`` is a terminal). ``stream``: where
    to write (default ``sys.stdout`` at the start of ``fit``). ``refresh``: seconds between bar updates."""

    def __init__(self, live=None, stream=None, refresh=0.1):
        self.live = live
        self.stream = stream
        self.refresh = float(refresh)
        self._bar = None

    def on_fit_begin(self, trainer):
        self._out = self.stream if self.stream is not None else sys.stdout
        self._active = bool(trainer.is_global_zero)
        self._is_live = self._active and (self.live if self.live is not None else _isatty(self._out))
        self._t_fit = time.perf_counter()

    def on_epoch_begin(self, trainer, epoch):
        self._t_epoch = self._last = time.perf_counter()
        if self._is_live:
            self._bar = _make_bar(f"epoch {epoch + 1}/{trainer.epochs}", trainer.num_batches, self._out,
                                  initial=trainer.batch_idx + 1 if _resumed(trainer) else 0)

    def on_batch_end(self, trainer, batch_idx, logs):
        if self._bar is None:
            return
        t = time.perf_counter()
        if t - self._last < self.refresh:
            return
        self._last = t
        self._bar.show(batch_idx + 1, format_logs(logs))

    def on_epoch_end(self, trainer, epoch, logs):
        if not self._active:
            return
        seconds = time.perf_counter() - self._t_epoch
        if self._bar is not None:
            self._bar.show(trainer.num_batches or trainer.batch_idx + 1, format_logs(logs), final=True)
            self._bar.close()
            self._bar = None
        else:
            width = len(str(trainer.epochs))
            print(f"epoch {epoch + 1:>{width}}/{trainer.epochs}  {format_logs(logs)}  ({seconds:.1f} s)",
                  file=self._out, flush=True)

    def on_fit_end(self, trainer):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if not self._active:
            return
        h = trainer.history
        if h.stop_reason:
            print(f"stopped: {h.stop_reason}", file=self._out, flush=True)
        if h.alarms:
            print(f"{len(h.alarms)} alarm{'s' if len(h.alarms) != 1 else ''}:", file=self._out)
            for a in h.alarms:
                print("  - " + _alarm_text(a), file=self._out)
            self._out.flush()


def _resumed(trainer):
    return getattr(trainer, "_batches_done", 0) > 0 and trainer.batch_idx + 1 == trainer._batches_done


def _make_bar(desc, total, stream, initial=0):
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainBar(desc, total, stream, initial)
    return _TqdmBar(tqdm(total=total, desc=desc, file=stream, unit="step", initial=initial, leave=True,
                         dynamic_ncols=True, mininterval=0, smoothing=0.1))


class _TqdmBar:
    def __init__(self, bar):
        self.bar = bar

    def show(self, n, text, final=False):
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(n - self.bar.n)

    def close(self):
        self.bar.close()


class _PlainBar:
    """The built-in fallback: ``\\r`` + one line (bar, n/total, elapsed<ETA, steps/s, running values)."""

    def __init__(self, desc, total, stream, initial=0):
        self.desc, self.total, self.stream = desc, total, stream
        self.t0, self.n0 = time.perf_counter(), initial
        self._width = 0

    def show(self, n, text, final=False):
        elapsed = time.perf_counter() - self.t0
        rate = (n - self.n0) / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(n / self.total, 1.0)
            bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
            eta = (self.total - n) / rate if rate > 0 else 0.0
            where = f"[{bar}] {n}/{self.total} [{_duration(elapsed)}<{_duration(eta)}, {rate:.1f} steps/s]"
        else:
            where = f"{n} [{_duration(elapsed)}, {rate:.1f} steps/s]"
        line = f"{self.desc} {where} {text}"
        pad = " " * max(0, self._width - len(line))       # cover the end of a longer previous line
        self._width = len(line)
        self.stream.write("\r" + line + pad + ("\n" if final else ""))
        self.stream.flush()

    def close(self):
        pass
