"""set_printoptions: precision, sci_mode, profile, threshold/edgeitems/linewidth - as torch.set_printoptions."""
import re

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

CASES = [np.array([1.5, 2.25, -3.0]), np.array([1e-5, 2.0, 300.0]), np.array([1.0, 2.0, 3.0]),
         np.array([1.0, 2000.0, 3e9]), np.zeros(3), np.array([0.123456789, 12.5]), np.arange(12.0) / 7,
         np.array([np.inf, 0.0, np.nan]), np.arange(30.0)]
OPTIONS = [{}, {"sci_mode": True}, {"sci_mode": False}, {"precision": 2}, {"precision": 6, "sci_mode": True},
           {"profile": "short"}, {"profile": "full"}, {"threshold": 5, "edgeitems": 2, "sci_mode": True}]


@pytest.fixture(autouse=True)
def default_options():
    yield
    cr.set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")


@needs_torch
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_float_format_matches_torch(options):
    cr.set_printoptions(**options)
    torch.set_printoptions(**options)
    for a in CASES:
        # the values only: which dtype is shown depends on each library's default dtype
        # (and "chainrule." is longer than "torch.", so it may wrap to a line of its own)
        ours = re.sub(r",\s*dtype=chainrule.float64", "", repr(cr.tensor(a, dtype=cr.float64)))
        theirs = re.sub(r",\s*dtype=torch.float64", "", repr(torch.tensor(a, dtype=torch.float64)))
        if "..." in theirs:            # torch pads the summary marker (' ...'); compare the numbers
            ours, theirs = ours.replace(" ", ""), theirs.replace(" ", "")
        assert ours == theirs


def test_sci_mode_forces_and_forbids_scientific_notation():
    x = cr.tensor([1.5, 2.25])
    assert repr(x) == "tensor([1.5000, 2.2500])"
    cr.set_printoptions(sci_mode=True)
    assert repr(x) == "tensor([1.5000e+00, 2.2500e+00])"
    cr.set_printoptions(sci_mode=False, precision=2)
    assert repr(cr.tensor([1e-5, 300.0])) == "tensor([  0.00, 300.00])"
    cr.set_printoptions()                          # as PyTorch: every call sets sci_mode (None: values decide)
    assert repr(cr.tensor([1e-5, 300.0])) == "tensor([1.00e-05, 3.00e+02])"   # precision stays 2


def test_numpy_print_options_are_left_alone():
    before = np.get_printoptions()
    cr.set_printoptions(precision=2, threshold=5, linewidth=30)
    assert np.get_printoptions() == before


@pytest.mark.parametrize("kwargs, word", [({"sci_mode": "yes"}, "sci_mode"), ({"precision": -1}, "precision"),
                                          ({"profile": "long"}, "profile"), ({"linewidth": 2.5}, "linewidth")])
def test_bad_option_names_the_argument(kwargs, word):
    with pytest.raises(ValueError, match=word):
        cr.set_printoptions(**kwargs)
