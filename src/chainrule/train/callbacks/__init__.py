"""The built-in callbacks (each in its own file)."""
from .csv_logger import CSVLogger

__all__ = ["CSVLogger"]
