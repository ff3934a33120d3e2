"""``chainrule.compile``: PyTorch's ``torch.compile`` entry point, for code that calls it.

chainrule has no compiler: every op runs eagerly through NumPy. ``compile(model)`` therefore returns
``model`` itself, unchanged (and ``@compile`` / ``@compile(mode=...)`` leave the function unchanged), so
scripts that compile run as they would with compilation disabled - same results, no speed-up."""

__all__ = ["compile"]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """Return ``model`` (a Module or function) unchanged: chainrule has no compiler (see the module doc).
    Used as ``@compile(...)`` with only options, returns a decorator that does the same."""
    if model is None:
        return lambda fn: fn
    return model
