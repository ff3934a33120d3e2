"""Anomaly detection: find the forward op behind a NaN/Inf gradient.

Inside ``detect_anomaly()`` every recorded op keeps the stack of the line that created it (slow, for
debugging), and the engine checks each gradient a backward rule returns; the first NaN/Inf raises an error
naming the op and that line.
"""
import functools

from .grad_mode import STATE

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


class detect_anomaly:
    """Context manager / decorator that turns on anomaly detection."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = STATE.anomaly
        STATE.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` switches anomaly detection on (and off on exit, if used with ``with``)."""

    def __init__(self, mode, check_nan=True):
        super().__init__(bool(mode) and check_nan)
        self._prev = STATE.anomaly
        STATE.anomaly = self.check_nan

    def __enter__(self):
        return self


def is_anomaly_enabled():
    return STATE.anomaly
