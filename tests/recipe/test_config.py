"""Config merging, --set parsing and the "did you mean" messages."""
import pytest

from chainrule.recipe import config as C
from chainrule.recipe.errors import ConfigError, did_you_mean


@pytest.mark.parametrize("word, choices, expected", [
    ("adma", ["sgd", "adam", "adamax", "adamw"], "adam"),        # a swap is one edit
    ("Linaer", ["Linear", "Bilinear"], "Linear"),                 # case-insensitive
    ("cosin", ["cosine", "step"], "cosine"),
    ("lenet", ["lenet5", "mlp"], "lenet5"),
    ("xyz", ["sgd", "adam"], None),
])
def test_did_you_mean(word, choices, expected):
    hint = did_you_mean(word, choices)
    assert hint == (f"; did you mean {expected!r}?" if expected else "")


def test_set_parses_toml_values_and_falls_back_to_strings():
    cfg = C.merge(C.DEFAULTS, {})
    C.apply_set(cfg, "optimizer.lr=1e-3")
    C.apply_set(cfg, "model.hidden=[64, 32]")
    C.apply_set(cfg, "optimizer.nesterov=true")
    C.apply_set(cfg, "data.dataset=digits")                       # a bare word: a string
    assert cfg["optimizer"]["lr"] == 1e-3 and cfg["optimizer"]["nesterov"] is True
    assert cfg["model"] == {"name": "mlp", "hidden": [64, 32]}
    assert cfg["data"]["dataset"] == "digits"
    with pytest.raises(ConfigError, match="expected key=value"):
        C.apply_set(cfg, "optimizer.lr")


def test_a_new_optimizer_drops_the_old_ones_arguments_but_keeps_lr():
    cfg = C.merge(C.DEFAULTS, {"optimizer": {"name": "adam"}})
    assert cfg["optimizer"] == {"name": "adam", "lr": 0.01}
    cfg = C.merge(C.DEFAULTS, {"model": {"layers": [{"type": "Flatten"}]}})
    assert cfg["model"] == {"layers": [{"type": "Flatten"}]}      # the named model's keys are gone


def test_check_refuses_non_positive_numbers_and_bools():
    for section, key, value in [("train", "epochs", 0), ("train", "epochs", True), ("train", "batch_size", -4),
                                ("train", "epochs", 1.5), ("optimizer", "lr", 0), ("optimizer", "lr", -1e-3),
                                ("optimizer", "lr", float("inf")), ("optimizer", "lr", "fast")]:
        cfg = C.merge(C.DEFAULTS, {section: {key: value}})
        with pytest.raises(ConfigError, match=f"{section}.{key} must be a positive"):
            C.check(cfg, ["accuracy"])


def test_cosine_schedule_defaults_to_the_number_of_epochs():
    import chainrule as cr
    cfg = C.merge(C.DEFAULTS, {"scheduler": {"name": "cosine"}, "train": {"epochs": 7}})
    C.check(cfg, ["accuracy"])
    opt = C.make_optimizer(cfg, cr.nn.Linear(2, 2).parameters())
    assert C.make_scheduler(cfg, opt).T_max == 7
