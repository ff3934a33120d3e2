"""Training loops without writing them: ``Trainer``/``fit``, callbacks, metrics, progress, logging."""
from .callback import EVENTS, Callback

__all__ = ["Callback", "EVENTS"]
