"""chainrule.amp: automatic mixed precision, as ``torch.amp`` - ``autocast`` (float16 / bfloat16 numerics
for matmul-like ops) and ``GradScaler`` (dynamic loss scaling)."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .._lazy import lazy_attributes as _lazy_attributes

# GradScaler is only for training loops that ask for it; autocast_mode is imported by every Tensor method table
__getattr__, __dir__ = _lazy_attributes(__name__, {"GradScaler": ".grad_scaler:GradScaler"})

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]
