"""chainrule.utils: ``utils.data`` (datasets and loaders); ``utils.tensorboard`` (import it by name)."""
from .._lazy import lazy_attributes as _lazy_attributes

__getattr__, __dir__ = _lazy_attributes(__name__, {"data": ".data", "tensorboard": ".tensorboard"})

__all__ = ["data"]
