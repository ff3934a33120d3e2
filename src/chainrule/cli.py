"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule train [CONFIG.toml] [--epochs 1 ...]   train a model, leaving a run folder (the main job)
    chainrule eval RUN_DIR                           a trained run's test metrics
    chainrule predict RUN_DIR digit.png              classes and probabilities for new inputs
    chainrule demo                                   the seed articles' worked examples (no files needed)
    chainrule download mnist                         fetch a dataset for offline use
    chainrule run script.py [args]                   an unchanged PyTorch program on chainrule
    chainrule --version

``chainrule`` with options but no command runs ``train`` (``chainrule --epochs 1`` works).

Subcommands are modules: each module named in ``COMMANDS`` provides ``register(subparsers)``, which adds its
parser and sets ``func`` (called with the parsed arguments; returns the exit status). Adding a command is
adding its module name here. A bad flag or config value is one line on stderr and exit status 2.
"""
import argparse
import importlib
import os
import sys

from . import __version__
from .recipe.errors import ConfigError, did_you_mean

__all__ = ["main", "build_parser", "COMMANDS"]

COMMANDS = ["chainrule.commands.train", "chainrule.commands.evaluate", "chainrule.commands.predict",
            "chainrule.commands.demo", "chainrule.commands.download", "chainrule.run"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (no usage block): what was wrong and where help is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    ap = _Parser(
        prog="chainrule", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="chainrule: a deep-learning framework on NumPy.\nTrain, evaluate and use models from the "
                    "command line.",
        epilog="`chainrule COMMAND --help` shows each command's options and defaults.\n"
               "Without a command, `chainrule [options]` runs `chainrule train [options]`:\n"
               "    chainrule --epochs 1        the main job (MNIST MLP) for one epoch")
    ap.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return ap, sub


def _default_to_train(ap, argv, commands):
    """``chainrule`` / ``chainrule --epochs 1`` / ``chainrule cfg.toml`` mean ``chainrule train ...``; a
    mistyped command is an error, not a config file name."""
    if not argv:
        return ["train"]
    first = argv[0]
    if first in commands or first in ("-h", "--help", "--version"):
        return argv
    if not first.startswith("-") and not first.endswith(".toml") and not os.path.exists(first):
        ap.error(f"unknown command {first!r}{did_you_mean(first, commands)} (commands: {', '.join(commands)})")
    return ["train", *argv]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap, sub = build_parser()
    args = ap.parse_args(_default_to_train(ap, argv, list(sub.choices)))
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
