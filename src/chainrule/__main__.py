"""``python -m chainrule``: the ``chainrule`` command (see ``chainrule.cli``)."""
import sys

from .cli import main
from .recipe.data import find_mnist as _find_mnist  # noqa: F401  (insight.commands' lr-find looks MNIST up with it)

if __name__ == "__main__":
    sys.exit(main())
