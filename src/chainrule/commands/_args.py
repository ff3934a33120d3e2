"""Argument types shared by the subcommands: values argparse refuses with a one-line message (exit 2)."""
import argparse

__all__ = ["positive_int", "positive_float", "HelpFormatter"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless it is None or False: the help says what then happens) and keeps
    the description's line breaks (examples stay readable)."""

    def _get_help_string(self, action):
        if action.default in (None, False) or isinstance(action.default, list) and not action.default:
            return action.help
        return super()._get_help_string(action)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value
