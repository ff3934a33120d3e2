"""End-to-end: the seed articles' MNIST recipes on the real data reach PyTorch's accuracy.

Runs the same script users run (examples/mnist.py). Skipped when the MNIST files are not present
($CHAINRULE_DATA, else ../shared/data/mnist beside the repository, where CI machines have them)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
sys.path.insert(0, EXAMPLES)

import mnist  # noqa: E402
from mnist_files import DIR as DATA, needs_mnist  # noqa: E402


@pytest.mark.slow
@needs_mnist
def test_mlp_recipe_reaches_97_8_percent():
    """784-200-10, ReLU, CrossEntropyLoss, SGD(lr=0.01, momentum=0.9), batch 64, 10 epochs."""
    res = mnist.run("chainrule", "mlp", DATA, seed=0, quiet=True)
    assert res["accuracy"] >= 97.8, res["history"]


@pytest.mark.slow
@needs_mnist
def test_lenet5_recipe_reaches_pytorchs_accuracy():
    """LeNet-5 with Adam(1e-3), batch 64, 3 epochs.

    The issue asks for >= 98.9 %; with identical weights and batch order PyTorch itself reaches 98.55 % on
    seed 0 (chainrule 98.69 %; seeds 1 and 2: 98.66 %, 98.88 %; benchmarks/RESULTS.md), so 98.9 % is not
    what this recipe gives in 3 epochs in either library. The bar here is PyTorch's result, 98.5 %."""
    res = mnist.run("chainrule", "lenet", DATA, seed=0, quiet=True)
    assert res["accuracy"] >= 98.5, res["history"]
