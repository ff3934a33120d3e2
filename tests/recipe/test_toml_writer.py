"""The TOML writer reads back with the stdlib reader to the same dict, for the subset run configs use."""
import math

import pytest
from hypothesis import given, strategies as st

from chainrule.recipe.toml_writer import dumps

tomllib = pytest.importorskip("tomllib")

keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)
scalars = st.one_of(st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1),
                    st.floats(allow_nan=False), st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                                                         max_size=12))
values = st.one_of(scalars, st.lists(scalars, max_size=4))
tables = st.recursive(st.dictionaries(keys, values, max_size=4),
                      lambda inner: st.dictionaries(keys, st.one_of(values, inner, st.lists(inner, min_size=1,
                                                                                            max_size=3)),
                                                    max_size=4), max_leaves=12)


@given(tables)
def test_round_trip(d):
    assert tomllib.loads(dumps(d)) == d


def test_layers_are_arrays_of_tables_and_header_is_comments():
    cfg = {"seed": 0, "model": {"layers": [{"type": "Linear", "in": 3, "out": 2}, {"type": "ReLU"}]},
           "optimizer": {"name": "sgd", "lr": 0.01, "betas": [0.9, 0.999]}}
    text = dumps(cfg, header=["made by a test"])
    assert text.startswith("# made by a test\nseed = 0\n")
    assert "[[model.layers]]\ntype = \"Linear\"\nin = 3\nout = 2" in text
    assert "\n[model]\n" not in text                    # a table holding only sub-tables needs no header
    assert tomllib.loads(text) == cfg


def test_special_floats_and_unsupported_values():
    text = dumps({"a": math.inf, "b": -math.inf, "c": 1e-300})
    assert tomllib.loads(text) == {"a": math.inf, "b": -math.inf, "c": 1e-300}
    assert math.isnan(tomllib.loads(dumps({"n": math.nan}))["n"])
    with pytest.raises(TypeError, match="config key 'train.when'"):
        dumps({"train": {"when": object()}})
