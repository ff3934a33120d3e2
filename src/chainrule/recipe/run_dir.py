"""A finished run folder read back: its resolved config and the trained model (for eval and predict)."""
import os

from .. import load
from .errors import ConfigError

__all__ = ["load_run"]


def load_run(path):
    """``(config, model, weights_path)`` from a run folder, or from a ``.safetensors`` file inside one (the
    config is the ``config.toml`` beside it). A training checkpoint's model weights are used as they are."""
    from . import config as C, models            # nn and optim load only when a run is read back
    if os.path.isdir(path):
        run_dir = path
        weights = os.path.join(path, "model.safetensors")
        if not os.path.isfile(weights):
            weights = os.path.join(path, "checkpoint.safetensors")
    elif os.path.isfile(path):
        run_dir, weights = os.path.dirname(os.path.abspath(path)), path
    else:
        raise ConfigError(f"{path!r}: no such run folder or checkpoint file")
    cfg_path = os.path.join(run_dir, "config.toml")
    if not os.path.isfile(cfg_path):
        raise ConfigError(f"{path!r}: no config.toml in {run_dir} - give a run folder made by `chainrule train` "
                          f"(or a checkpoint inside one)")
    if not os.path.isfile(weights):
        raise ConfigError(f"{run_dir!r}: no model.safetensors or checkpoint.safetensors (was the run interrupted "
                          f"before its first checkpoint?)")
    cfg = C.merge(C.DEFAULTS, C.read_toml(cfg_path))
    model = models.build(cfg["model"])
    state = load(weights)
    if isinstance(state, dict) and isinstance(state.get("model"), dict) and "format" in state:
        state = state["model"]                       # a Trainer checkpoint: its model part
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as e:
        raise ConfigError(f"{weights!r} does not match the model in {cfg_path}: {str(e).splitlines()[0]}") from None
    model.eval()
    return cfg, model, weights
