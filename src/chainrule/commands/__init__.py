"""The ``chainrule`` subcommands, one module each; every module provides ``register(subparsers)``."""
