"""chainrule.utils.data: Dataset and DataLoader (filled by the data issue)."""
__all__ = []
