"""A training recipe described by a config (TOML file, flags): what ``chainrule train`` runs.

``config`` (defaults, merging, checks, optimiser/scheduler/loss), ``models`` (layer lists, named
architectures, factories), ``data`` (datasets by name, download, the bundled digits), ``run_dir`` (a run
folder read back), ``toml_writer`` (the resolved config written back). Curves are ``History.plot``.
"""
from .errors import ConfigError

__all__ = ["ConfigError"]
