"""chainrule.amp: automatic mixed precision, as ``torch.amp`` - ``autocast`` (float16 / bfloat16 numerics
for matmul-like ops) and ``GradScaler`` (dynamic loss scaling)."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]
