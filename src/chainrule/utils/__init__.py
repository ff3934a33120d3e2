"""chainrule.utils: ``utils.data`` (datasets and loaders); ``utils.tensorboard`` (import it by name)."""
from . import data

__all__ = ["data"]
