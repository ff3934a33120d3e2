"""Where the tests find the real MNIST files: ``$CHAINRULE_DATA`` when it is set, else ``../shared/data/mnist``
beside the repository (where CI machines have them). Tests that need them skip, all with one reason (so the
summary groups them) naming the absolute folder that was looked in."""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def mnist_dir():
    env = os.environ.get("CHAINRULE_DATA")
    return os.path.abspath(os.path.expanduser(env)) if env else \
        os.path.normpath(os.path.join(REPO, "..", "shared", "data", "mnist"))


DIR = mnist_dir()
FOUND = all(os.path.isfile(os.path.join(DIR, n)) for n in NAMES)
REASON = (f"the real MNIST files are not in {DIR} (set $CHAINRULE_DATA to the folder holding the four "
          f"*-ubyte.gz files)")
needs_mnist = pytest.mark.skipif(not FOUND, reason=REASON)
