"""Models from configs: named architectures expand to layers; layer keys are checked; factories."""
import pytest

import chainrule as cr
from chainrule.recipe import models
from chainrule.recipe.errors import ConfigError


def test_mlp_expands_for_the_datasets_shape():
    r = models.resolve({"name": "mlp", "hidden": [256, 128]}, (1, 28, 28), 10)
    assert [(s["type"], s.get("in"), s.get("out")) for s in r["layers"]] == [
        ("Flatten", None, None), ("Linear", 784, 256), ("ReLU", None, None), ("Linear", 256, 128),
        ("ReLU", None, None), ("Linear", 128, 10)]
    model = models.build(r)
    assert model(cr.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_builds_and_runs():
    model = models.build(models.resolve({"name": "lenet5"}, (1, 28, 28), 10))
    assert model(cr.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == 61706        # LeNet-5's well-known count


def test_layer_aliases_and_errors():
    m = models.build({"layers": [{"type": "Conv2d", "in": 1, "out": 4, "kernel_size": 3}]})
    assert m[0].in_channels == 1 and m[0].out_channels == 4
    with pytest.raises(ConfigError, match=r"model.layers\[0\]: Linear needs 'out'"):
        models.build({"layers": [{"type": "Linear", "in": 3}]})
    with pytest.raises(ConfigError, match=r"model.layers\[1\]: each layer is a table with a 'type'"):
        models.build({"layers": [{"type": "ReLU"}, {"in": 3}]})


def test_factory(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text("import chainrule as cr\n"
                                       "def build(width=4):\n    return cr.nn.Linear(2, width)\n"
                                       "def not_a_model():\n    return 3\n")
    monkeypatch.chdir(tmp_path)
    m = models.build(models.resolve({"name": "mynet:build", "kwargs": {"width": 5}}, (2,), 2))
    assert m.out_features == 5
    with pytest.raises(ConfigError, match="returned a int, not a chainrule.nn.Module"):
        models.build({"factory": "mynet:not_a_model"})
    with pytest.raises(ConfigError, match="cannot import module 'nonexistent_mod'"):
        models.build({"factory": "nonexistent_mod:f"})
