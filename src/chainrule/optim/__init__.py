"""chainrule.optim: optimisers and learning-rate schedulers (filled by the optim issue)."""
__all__ = []
