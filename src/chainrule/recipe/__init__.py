"""A training recipe described by a config (TOML file, flags): what ``chainrule train`` runs.

``config`` (defaults, merging, checks, optimiser/scheduler/loss), ``models`` (layer lists, named
architectures, factories), ``data`` (datasets by name, download, the bundled digits), ``curves``
(curves.png), ``toml_writer`` (the resolved config written back).
"""
from .errors import ConfigError

__all__ = ["ConfigError"]
