"""Lazy package attributes (PEP 562): a submodule or a name from one is imported on first use, so
``import chainrule`` pays only for what every program needs.

    __getattr__, __dir__ = lazy_attributes(__name__, {"nn": ".nn", "save": ".serialization:save"})

A target is ``".module"`` (the submodule itself) or ``".module:name"`` (one name from it). The value is
stored in the package after the first access, so later lookups are plain attribute reads; ``dir()`` and
tab completion list the lazy names before they are loaded.
"""
import importlib
import sys


def lazy_attributes(package, table):
    def __getattr__(name):
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        value = importlib.import_module(module, package)
        if attr:
            value = getattr(value, attr)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
