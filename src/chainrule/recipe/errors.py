"""The one error a bad config or flag raises, and the "did you mean" helper its messages use."""
import difflib

__all__ = ["ConfigError", "did_you_mean", "unknown"]


class ConfigError(ValueError):
    """A config value (file, flag or ``--set``) that cannot be used; the message is one line naming the key,
    the value and what is allowed. The command prints it and exits with status 2."""


def did_you_mean(word, choices):
    """``"; did you mean 'adam'?"`` when ``word`` is close to one of ``choices``, else ``""``."""
    by_lower = {str(c).lower(): str(c) for c in choices}          # case-insensitive: 'linaer' -> 'Linear'
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def unknown(what, word, choices):
    """A ConfigError for an unknown name: ``unknown optimizer 'adma'; did you mean 'adam'? (allowed: ...)``."""
    hint = did_you_mean(word, choices)
    return ConfigError(f"unknown {what} {word!r}{hint} (allowed: {', '.join(sorted(map(str, choices)))})")
