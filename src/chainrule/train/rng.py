"""Every random-number state a training run depends on, captured and restored as checkpoint-friendly data
(numbers, strings and arrays only - ``chainrule.save`` stores it without pickle).

Captured: chainrule's global generator, the given Generators (a DataLoader's shuffling generator), NumPy's
legacy global ``np.random`` state and Python's ``random`` module state.
"""
import random

import numpy as np

from ..random import default_generator

__all__ = ["capture_rng", "restore_rng"]


def capture_rng(generators=()):
    mt = np.random.get_state(legacy=False)
    py_version, py_state, py_gauss = random.getstate()
    return {
        "chainrule": default_generator().get_state(),
        "generators": [g.get_state() for g in generators],
        "numpy": {"key": mt["state"]["key"].astype(np.int64), "pos": int(mt["state"]["pos"]),
                  "has_gauss": int(mt["has_gauss"]), "gauss": float(mt["gauss"])},
        "python": {"version": py_version, "state": np.array(py_state, np.int64), "gauss": py_gauss},
    }


def restore_rng(state, generators=()):
    gens = state["generators"]
    if len(gens) != len(generators):
        raise ValueError(f"resume: the checkpoint has the states of {len(gens)} data-loader generator(s), but "
                         f"this run's loader uses {len(generators)}. Fix: build the DataLoader as in the "
                         f"interrupted run (same generator= argument)")
    default_generator().set_state(state["chainrule"])
    for g, s in zip(generators, gens):
        g.set_state(s)
    n = state["numpy"]
    np.random.set_state(("MT19937", np.asarray(n["key"]).astype(np.uint32), int(n["pos"]), int(n["has_gauss"]),
                         float(n["gauss"])))
    p = state["python"]
    random.setstate((int(p["version"]), tuple(int(v) for v in np.asarray(p["state"])), p["gauss"]))
