"""Write the small TOML subset a run config uses (reading is stdlib ``tomllib``; there is no stdlib writer).

Supported: a top-level dict whose values are scalars (str, int, float, bool), lists of scalars, tables
(dicts, nested) and arrays of tables (lists of dicts, written ``[[a.b]]``). Anything else is a TypeError
naming the key, so a config never round-trips wrongly. ``tomllib.loads(dumps(d)) == d`` for that subset.
"""
import math

__all__ = ["dumps"]


def _key(k):
    if not isinstance(k, str):
        raise TypeError(f"TOML keys must be strings, got {k!r}")
    bare = k and all(c.isalnum() or c in "-_" for c in k) and k.isascii()
    return k if bare else _string(k)


def _string(s):
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out) + '"'


def _value(v, where):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)                                  # shortest repr that reads back to the same float
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, where) for x in v) + "]"
    raise TypeError(f"config key {where!r}: cannot write a {type(v).__name__} to TOML ({v!r})")


def _is_table_array(v):
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def _table(d, path, lines):
    plain = [(k, v) for k, v in d.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for k, v in plain:
        lines.append(f"{_key(k)} = {_value(v, '.'.join(path + [k]))}")
    for k, v in d.items():
        name = ".".join(_key(p) for p in path + [k])
        if isinstance(v, dict):
            has_plain = any(not isinstance(x, dict) and not _is_table_array(x) for x in v.values())
            if has_plain or not v:                   # a table holding only sub-tables needs no header
                lines.append("")
                lines.append(f"[{name}]")
            _table(v, path + [k], lines)
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append(f"[[{name}]]")
                _table(item, path + [k], lines)


def dumps(config, header=None):
    """The TOML text of ``config`` (a dict); ``header``: comment lines put at the top."""
    lines = [f"# {h}" if h else "#" for h in (header or [])]
    _table(config, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"
