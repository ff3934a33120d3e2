"""The one error a bad config or flag raises, and the "did you mean" helper its messages use."""
import difflib

__all__ = ["ConfigError", "did_you_mean", "unknown"]


class ConfigError(ValueError):
    """A config value (file, flag or ``--set``) that cannot be used; the message is one line naming the key,
    the value and what is allowed. The command prints it and exits with status 2."""


def _edits(a, b):
    """Edit distance counting a swap of two neighbours as one edit ('adma' -> 'adam' is 1), as typos are."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def did_you_mean(word, choices):
    """``"; did you mean 'adam'?"`` when ``word`` is a likely typo of one of ``choices``, else ``""``.
    Case-insensitive; the fewest edits wins, then difflib's similarity."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    w = str(word).lower()
    scored = sorted((_edits(w, c), -difflib.SequenceMatcher(None, w, c).ratio(), c) for c in by_lower)
    if scored and scored[0][0] <= max(1, len(w) // 3):
        return f"; did you mean {by_lower[scored[0][2]]!r}?"
    close = difflib.get_close_matches(w, list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def unknown(what, word, choices, shown=None):
    """A ConfigError for an unknown name: ``unknown optimizer 'adma'; did you mean 'adam'? (allowed: ...)``.
    ``shown``: a shorter list to print as allowed (default: all ``choices``)."""
    hint = did_you_mean(word, choices)
    listed = ", ".join(shown) if shown is not None else ", ".join(sorted(map(str, choices)))
    return ConfigError(f"unknown {what} {word!r}{hint} (allowed: {listed})")
