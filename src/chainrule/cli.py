"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule train [CONFIG.toml] [--epochs 1 ...]   train a model, leaving a run folder (the main job)
    chainrule eval RUN_DIR                           a trained run's test metrics
    chainrule predict RUN_DIR digit.png              classes and probabilities for new inputs
    chainrule demo                                   the seed articles' worked examples (no files needed)
    chainrule download mnist                         fetch a dataset for offline use
    chainrule --version

``chainrule`` with options but no command runs ``train`` (``chainrule --epochs 1`` works).

Subcommands are modules: each module named in ``COMMANDS`` provides ``register(subparsers)``, which adds its
parser and sets ``func`` (called with the parsed arguments; returns the exit status). Adding a command is
adding its module name here. A bad flag or config value is one line on stderr and exit status 2.
"""
import argparse
import importlib
import sys

from . import __version__
from .recipe.errors import ConfigError

__all__ = ["main", "build_parser", "COMMANDS"]

COMMANDS = ["chainrule.commands.train", "chainrule.commands.evaluate", "chainrule.commands.predict",
            "chainrule.commands.demo", "chainrule.commands.download"]


def build_parser():
    ap = argparse.ArgumentParser(
        prog="chainrule", description="chainrule: a deep-learning framework on NumPy. Train, evaluate and use "
        "models from the command line.",
        epilog="`chainrule COMMAND --help` shows each command's options and defaults. Without a command, "
               "`chainrule [options]` runs `chainrule train [options]`.")
    ap.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return ap, sub


def _default_to_train(argv, commands):
    """``chainrule`` / ``chainrule --epochs 1`` / ``chainrule cfg.toml`` mean ``chainrule train ...``."""
    if not argv:
        return ["train"]
    first = argv[0]
    if first in commands or first in ("-h", "--help", "--version"):
        return argv
    return ["train", *argv]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap, sub = build_parser()
    args = ap.parse_args(_default_to_train(argv, sub.choices))
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"chainrule {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:                   # `chainrule ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
