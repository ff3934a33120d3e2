"""chainrule eval RUN_DIR|CHECKPOINT: a trained run's loss and metrics on its dataset's test split.

    chainrule eval runs/mnist-mlp-20260101-120000
    chainrule eval runs/mnist-mlp-20260101-120000/model.safetensors --metrics accuracy,f1,confusion_matrix

The model and dataset come from the run's config.toml; the data is looked up as `chainrule train` does
(--data, then the config's data.root, then $CHAINRULE_DATA, then ~/.cache/chainrule).
"""
import numpy as np

from ..recipe.errors import ConfigError
from ._args import HelpFormatter, positive_int
from .train import _MetricNames

# recipe's config, data and run_dir (with nn, optim, datasets) and train are imported inside the function that
# uses them: importing a command module stays light.

__all__ = ["register"]


def _print_value(name, value):
    if isinstance(value, np.ndarray) and value.ndim == 2:
        print(f"  {name}:")
        width = max(len(str(int(v))) for v in value.ravel()) + 1
        print("    " + " " * 6 + "".join(f"{j:>{width}}" for j in range(value.shape[1])) + "   (predicted)")
        for i, row in enumerate(value):
            print(f"    {i:>4}  " + "".join(f"{int(v):>{width}}" for v in row))
        print("    (rows: true class)")
    elif isinstance(value, np.ndarray):
        print(f"  {name}: " + "  ".join(f"{v:.4f}" for v in value.ravel()))
    elif "accuracy" in name or name.startswith("top"):
        print(f"  {name}: {100 * value:.2f} %")
    else:
        print(f"  {name}: {value:.4f}")


def run(args):
    from ..recipe import config as C
    from ..recipe.data import DatasetUnavailable, load
    from ..recipe.run_dir import load_run
    from ..train import Trainer
    cfg, model, weights = load_run(args.run)
    if args.data:
        cfg["data"]["root"] = args.data
    try:
        data = load(cfg["data"], seed=cfg["seed"])
    except DatasetUnavailable as e:
        print(f"chainrule eval: {e}")
        return 1
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else cfg["train"]["metrics"]
    cfg["train"]["metrics"] = metrics
    from ..train.metrics import METRIC_NAMES, get_metric
    C.check(cfg, _MetricNames(get_metric, METRIC_NAMES))
    x, y = (data.x_train, data.y_train) if args.split == "train" else (data.x_test, data.y_test)
    trainer = Trainer(model, C.make_optimizer(cfg, model.parameters()), C.make_loss(cfg), metrics=metrics,
                      verbose=0)
    try:
        result = trainer.evaluate((x, y), batch_size=args.batch_size)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"eval: {e}") from None
    print(f"{weights}: {data.name} {args.split} split, {len(x):,} samples")
    for name, value in result.items():
        _print_value(name, value)
    return 0


def register(subparsers):
    p = subparsers.add_parser("eval", help="a trained run's metrics on the test split", description=__doc__,
                              formatter_class=HelpFormatter)
    p.add_argument("run", metavar="RUN_DIR|CHECKPOINT", help="a run folder (or a .safetensors file in one)")
    p.add_argument("--split", choices=["test", "train"], default="test", help="which split to evaluate")
    p.add_argument("--metrics", help="comma-separated metric names, e.g. accuracy,f1,confusion_matrix "
                                     "(default: the run's)")
    p.add_argument("--batch-size", type=positive_int, default=256, help="evaluation batch size")
    p.add_argument("--data", metavar="DIR", help="folder with the dataset files (default: as the run found them)")
    p.set_defaults(func=run)
