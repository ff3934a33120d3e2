"""chainrule train [CONFIG.toml] [options]: train a model and leave a run folder.

    chainrule train                                  the main job: the seed article's MNIST MLP
    chainrule train --epochs 1                       (MNIST is downloaded when absent; offline, the bundled
                                                      UCI 8x8 digits are used instead, with a message)
    chainrule train examples/configs/lenet5.toml     a recipe from a config file
    chainrule train --dataset digits --model mlp --set model.hidden=[64,32] --optimizer adam --lr 1e-3
    chainrule train runs/mnist-mlp-20260101-120000/config.toml      reproduce an earlier run
    chainrule train --resume runs/mnist-mlp-20260101-120000 --epochs 10   continue a run

The run folder (--out, default runs/<dataset>-<model>-<time>) gets: config.toml (the fully resolved config),
metrics.csv (one row per epoch), model.safetensors (the trained weights), checkpoint.safetensors (weights,
optimiser and trainer state, for --resume), curves.png (needs matplotlib) and tensorboard/ (needs
tensorboardX). Settings are taken from the defaults, then the config file, then the flags, then each
--set section.key=value. Every setting is checked before the run folder is created.
"""
import os
import sys
import time

import chainrule as cr

from .. import no_grad
from ..recipe.errors import ConfigError
from ._args import HelpFormatter, positive_float, positive_int

# recipe's config, data, models and toml_writer (with nn, optim, datasets), train, insight and distributed are
# imported inside the functions that use them: importing a command module stays light.

__all__ = ["register", "resolve_config", "run"]


# ------------------------------------------------------------------------------------------- config
def _flag_overrides(args):
    """The flags as a config fragment (only those given)."""
    o = {}
    if args.model is not None:
        o["model"] = {"name": args.model}
    if args.dataset is not None or args.data is not None:
        o["data"] = {k: v for k, v in (("dataset", args.dataset), ("root", args.data)) if v is not None}
    train = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size)) if v is not None}
    if train:
        o["train"] = train
    opt = {k: v for k, v in (("name", args.optimizer), ("lr", args.lr)) if v is not None}
    if opt:
        o["optimizer"] = opt
    if args.scheduler is not None:
        o["scheduler"] = {"name": args.scheduler}
    if args.seed is not None:
        o["seed"] = args.seed
    return o


def resolve_config(args):
    """(config, dataset_given): defaults <- file <- flags <- --set, checked (ConfigError on anything bad)."""
    from ..recipe import config as C
    from ..recipe.data import check_keys
    from ..train.metrics import METRIC_NAMES, get_metric
    cfg = C.merge(C.DEFAULTS, {})
    from_file = {}
    if args.config:
        from_file = C.read_toml(args.config)
        cfg = C.merge(cfg, from_file)
    cfg = C.merge(cfg, _flag_overrides(args))
    for assignment in args.set or []:
        C.apply_set(cfg, assignment)
    C.check(cfg, _MetricNames(get_metric, METRIC_NAMES))
    check_keys(cfg["data"])
    given = (args.dataset is not None or "dataset" in from_file.get("data", {})
             or any(s.split("=", 1)[0].strip() == "data.dataset" for s in args.set or []))
    return cfg, given


class _MetricNames:
    """``name in metric_names`` asks the metrics registry itself (it knows "top5", "f1_micro", ...)."""

    def __init__(self, get_metric, names):
        self.get_metric, self.names = get_metric, [n for n in names if " " not in n]
        self.shown = ["accuracy", "top5 (any k)", "precision", "recall", "f1 (also _micro, _weighted, "
                      "_per_class, _binary)", "confusion_matrix", "mse", "mae", "r2"]

    def __contains__(self, name):
        try:
            self.get_metric(name)
            return True
        except (ValueError, TypeError, KeyError):
            return False

    def __iter__(self):
        return iter(self.names)


# --------------------------------------------------------------------------------------------- data
def _offline_note(cfg, err):
    """One message: what failed, which files to put where, and what happens instead."""
    from ..datasets import default_root
    from ..recipe.data import image_dataset_class
    cls = image_dataset_class(cfg["data"]["dataset"])
    root = default_root(cfg["data"].get("root") or None)
    reason = next((ln.strip().split(": ", 1)[-1] for ln in str(err).splitlines() if "Error" in ln),
                  str(err).splitlines()[0])
    files = ", ".join(name for name, _ in cls.resources)
    return (f"chainrule train: {cls.__name__} is not in {root} and could not be downloaded ({reason}).\n"
            f"  To train on it offline, put {files} into {os.path.join(root, cls.__name__, 'raw')}{os.sep} "
            f"(or set $CHAINRULE_DATA / --data to the folder that has them; see `chainrule download --help`).\n"
            f"  Training on the bundled UCI 8x8 handwritten digits (1,797 real images) instead.")


def _load_data(cfg, dataset_given):
    from ..recipe.data import DatasetUnavailable, load
    try:
        return load(cfg["data"], seed=cfg["seed"])
    except DatasetUnavailable as e:
        if dataset_given:
            raise ConfigError(f"data.dataset {cfg['data']['dataset']!r}: " + str(e).replace("\n", " | ")) from None
        print(_offline_note(cfg, e), file=sys.stderr, flush=True)
        cfg["data"] = {"dataset": "digits"}
        return load(cfg["data"], seed=cfg["seed"])


# -------------------------------------------------------------------------------------------- model
def _check_model_on_data(model, loss_fn, data):
    """One forward + loss on two samples, so a shape mismatch is a config error before any file is written."""
    try:
        with no_grad():
            out = model(data.x_train[:2])
            loss_fn(out, data.y_train[:2])
    except Exception as e:          # any layer's own error message, given the context the user needs
        raise ConfigError(f"model: does not fit dataset {data.name!r} (inputs {tuple(data.input_shape)}, "
                          f"{data.outputs} output{'s' if data.outputs > 1 else ''}): {type(e).__name__}: "
                          f"{str(e).splitlines()[0]}") from None


def _model_label(cfg, args):
    m = cfg["model"]
    if "name" in m:
        return m["name"]
    if "factory" in m:
        return m["factory"].split(":")[-1]
    if args.config:
        return os.path.splitext(os.path.basename(args.config))[0]
    return "model"


def _out_dir(args, cfg, label):
    if args.resume_checkpoint:                   # --resume: the run's own folder
        return args.out
    if args.out:
        out = args.out
        if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
            raise ConfigError(f"--out {out!r} exists and is not empty; choose a new folder (runs are never "
                              f"overwritten)")
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{cfg['data']['dataset']}-{label}-{stamp}")
    out, n = base, 1
    while os.path.exists(out):
        n += 1
        out = f"{base}-{n}"
    return out


# ---------------------------------------------------------------------------------------------- run
def _callbacks(args, out):
    """TensorBoard when tensorboardX is installed; the gradient monitor with --monitor."""
    cbs, notes = [], []
    try:
        from ..train.callbacks import TensorBoard
        cbs.append(TensorBoard(os.path.join(out, "tensorboard")))
    except ImportError as e:
        notes.append(f"TensorBoard events skipped: {str(e).splitlines()[0]}")
    monitor = None
    if args.monitor:
        from ..insight import GradientMonitor
        monitor = GradientMonitor(every=args.monitor_every, verbose=not args.quiet)
        cbs.insert(0, monitor)
    return cbs, notes, monitor


def _monitor_report(monitor, out, files, notes):
    """The monitor's gradient-flow picture in the run folder (its alarms are in history.alarms)."""
    try:
        monitor.plot_gradient_flow(os.path.join(out, "gradient_flow.png"))
        files.append(("gradient_flow.png", "each layer's gradient norm over training (--monitor)"))
    except ImportError as e:
        notes.append(f"gradient_flow.png skipped: {e}")
    notes.append(monitor.summary().splitlines()[0] if monitor.records else "gradient monitor: no sampled step")


def _summary(cfg, data, history, seconds, out, files, notes, n_params):
    h = history.history
    lines = ["", f"chainrule train: {data.name}, {_describe_model(cfg)} ({n_params:,} parameters), "
             f"{len(history.epoch)} epoch(s) in {seconds:.1f} s"
             + (f" - stopped: {history.stop_reason}" if history.stop_reason else "")]
    final = [f"{k} {_fmt(k, v[-1])}" for k, v in h.items() if v and k != "lr" and not k.startswith("val_")]
    val = [f"{k[4:]} {_fmt(k, v[-1])}" for k, v in h.items() if v and k.startswith("val_")]
    lines.append("  final (train):  " + "   ".join(final))
    if val:
        lines.append(f"  final (test, {len(data.x_test):,} samples):  " + "   ".join(val))
    lines.append(f"  run folder: {out}{os.sep}")
    for name, what in files:
        lines.append(f"    {name:<24} {what}")
    for n in notes:
        lines.append(f"  note: {n}")
    if history.alarms:                           # History.summary() words them; its alarm part only
        text = history.summary().splitlines()
        start = next(i for i, ln in enumerate(text) if ln.endswith(("alarm:", "alarms:")))
        lines += ["  " + ln for ln in text[start:]]
    lines.append(f"  next: chainrule eval {out}   |   chainrule predict {out} IMAGE.png")
    return "\n".join(lines)


def _fmt(key, value):
    if not isinstance(value, (int, float)):
        return str(value)
    if "accuracy" in key or key.startswith(("val_top", "top")):
        return f"{100 * value:.2f} %"
    return f"{value:.4g}"


def _describe_model(cfg):
    m = cfg["model"]
    if "factory" in m:
        return f"model {m['factory']}"
    sizes = [s.get("in") for s in m["layers"] if s.get("type") == "Linear"]
    outs = [s.get("out") for s in m["layers"] if s.get("type") == "Linear"]
    if sizes and all(isinstance(x, int) for x in sizes + outs):
        convs = sum(s.get("type", "").startswith("Conv") for s in m["layers"])
        arch = "-".join(str(x) for x in [sizes[0], *outs])
        return (f"{convs} conv + " if convs else "") + f"MLP {arch}"
    return f"{len(m['layers'])}-layer model"


def _mpi_job():
    """(distributed, lead): under mpiexec every rank trains its shard (Trainer(distributed=True)) and only
    rank 0 - the lead - prints and writes the run folder; a plain process is the lead of a world of one."""
    from ..distributed._mpi import launched_by_mpi
    if not launched_by_mpi():
        return False, True
    from .. import distributed as dist
    dist.init()
    return True, dist.rank() == 0


def _lead_decides(distributed, lead, decide):
    """``decide()`` on rank 0 only (a name with the time in it, a check of the file system); every rank gets
    its result, or the ConfigError it raised (so no rank is left waiting for one that gave up)."""
    if not distributed:
        return decide()
    from ..distributed.process_group import _get
    answer = ""
    if lead:
        try:
            answer = "ok:" + decide()
        except ConfigError as e:
            answer = "error:" + str(e)
    answer = _get().bcast_bytes(answer.encode(), 0, name="broadcast (run folder)").decode()
    if answer.startswith("error:"):
        raise ConfigError(answer[len("error:"):])
    return answer[len("ok:"):]


def run(args):
    from ..recipe import config as C, models
    from ..recipe.toml_writer import dumps
    from ..train import Trainer

    cfg, dataset_given = resolve_config(args)
    label = _model_label(cfg, args)
    distributed, lead = _mpi_job()
    if distributed and not lead:                 # others only print errors; rank 0 speaks for the job
        sys.stdout = open(os.devnull, "w")
    if distributed:                              # rank 0 loads (and downloads) first, then the others
        from ..distributed import barrier
        if not lead:
            barrier()
        data = _load_data(cfg, dataset_given)
        if lead:
            barrier()
    else:
        data = _load_data(cfg, dataset_given)
    cfg["model"] = models.resolve(cfg["model"], data.input_shape, data.outputs)
    cr.manual_seed(cfg["seed"])
    model = models.build(cfg["model"])
    loss_fn = C.make_loss(cfg)
    _check_model_on_data(model, loss_fn, data)
    optimizer = C.make_optimizer(cfg, model.parameters())
    scheduler = C.make_scheduler(cfg, optimizer)
    out = _lead_decides(distributed, lead, lambda: _out_dir(args, cfg, label))

    # everything is checked: only now does the run folder appear
    if lead:
        os.makedirs(out, exist_ok=True)
        header = [f"chainrule {cr.__version__} run config (fully resolved): `chainrule train "
                  f"{os.path.join(out, 'config.toml')}` reproduces this run"]
        with open(os.path.join(out, "config.toml.tmp"), "w") as f:
            f.write(dumps(cfg, header))
        os.replace(os.path.join(out, "config.toml.tmp"), os.path.join(out, "config.toml"))
    if distributed:
        from ..distributed import world_size
        data.notes.append(f"{world_size()} MPI ranks x batch {cfg['train']['batch_size']}")
    if not args.quiet:
        print(f"chainrule {cr.__version__}: training {_describe_model(cfg)} on {data.name} - "
              + "; ".join(data.notes) + f"; {cfg['train']['epochs']} epoch(s), batch {cfg['train']['batch_size']}, "
              f"{cfg['optimizer']['name']} lr {cfg['optimizer']['lr']} -> {out}{os.sep}", flush=True)
    # TensorBoard and the gradient monitor on rank 0 (it writes their files; the gradients it sees there are
    # the averaged ones, the same on every rank)
    callbacks, notes, monitor = _callbacks(args, out) if lead else ([], [], None)
    trainer = Trainer(model, optimizer, loss_fn, metrics=cfg["train"]["metrics"], scheduler=scheduler,
                      callbacks=callbacks, seed=cfg["seed"], log_dir=out, verbose=0 if args.quiet else 1,
                      distributed=distributed)
    t0 = time.perf_counter()
    history = trainer.fit((data.x_train, data.y_train), val=(data.x_test, data.y_test),
                          epochs=cfg["train"]["epochs"], batch_size=cfg["train"]["batch_size"],
                          resume=args.resume_checkpoint)
    seconds = time.perf_counter() - t0
    if not lead:                                 # the replicas are identical: rank 0 writes the files
        return 130 if getattr(history, "interrupted", False) else 0
    cr.save(model.state_dict(), os.path.join(out, "model.safetensors"))
    trainer.save_checkpoint(os.path.join(out, "checkpoint.safetensors"))
    files = [("config.toml", "the resolved config"), ("metrics.csv", "per-epoch metrics"),
             ("model.safetensors", "trained weights"), ("checkpoint.safetensors", "optimiser + trainer state "
                                                                                   "(--resume)")]
    try:
        history.plot(os.path.join(out, "curves.png"),
                     title=f"{data.name} - {_describe_model(cfg)} (validation: the test split)")
        files.append(("curves.png", "loss and metrics per epoch"))
    except ImportError as e:                     # matplotlib missing: one line, the run is still complete
        notes.append(f"curves.png skipped: {e}")
    if monitor is not None:
        _monitor_report(monitor, out, files, notes)
    if os.path.isdir(os.path.join(out, "tensorboard")):
        files.append(("tensorboard/", f"TensorBoard events (tensorboard --logdir {out})"))
    print(_summary(cfg, data, history, seconds, out, files, notes, sum(p.numel() for p in model.parameters())),
          flush=True)
    return 130 if getattr(history, "interrupted", False) else 0


def register(subparsers):
    from ..recipe.config import DEFAULTS, OPTIMIZERS, SCHEDULERS
    from ..recipe.data import DATASETS
    from ..recipe.models import ARCHITECTURES
    d = DEFAULTS
    p = subparsers.add_parser("train", help="train a model (the main job); leaves a run folder",
                              description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("config", nargs="?", help="a TOML run config (examples/configs/*.toml, or a run's config.toml)")
    p.add_argument("--model", help=f"architecture: {', '.join(ARCHITECTURES)}, or a factory 'module:function' "
                                   f"(default: the config's, else {d['model']['name']})")
    p.add_argument("--dataset", help=f"{', '.join(DATASETS)} (default: the config's, else {d['data']['dataset']}, "
                                     "falling back to digits when MNIST is absent and cannot be downloaded)")
    p.add_argument("--data", metavar="DIR", help="folder with the dataset files (default: $CHAINRULE_DATA, else "
                                                 "~/.cache/chainrule)")
    p.add_argument("--epochs", type=positive_int, help=f"epochs (default: the config's, else {d['train']['epochs']})")
    p.add_argument("--batch-size", type=positive_int,
                   help=f"batch size (default: the config's, else {d['train']['batch_size']})")
    p.add_argument("--lr", type=positive_float,
                   help=f"learning rate (default: the config's, else {d['optimizer']['lr']})")
    p.add_argument("--optimizer", help=f"{', '.join(OPTIMIZERS)} (default: the config's, else "
                                       f"{d['optimizer']['name']} with momentum {d['optimizer']['momentum']})")
    p.add_argument("--scheduler", help=f"learning-rate schedule, stepped per epoch: {', '.join(SCHEDULERS)} "
                                       "(default: the config's, else none)")
    p.add_argument("--seed", type=int, help=f"random seed (default: the config's, else {d['seed']})")
    p.add_argument("--out", metavar="DIR", help="run folder to create (default: runs/<dataset>-<model>-<time>)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any config value, e.g. --set model.hidden=[256,128] --set optimizer.weight_decay=1e-4 "
                        "(repeatable; applied last)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an earlier run in its folder (its config, "
                                                       "its checkpoint; --epochs sets the new total)")
    p.add_argument("--monitor", action="store_true",
                   help="watch gradients and activations (chainrule.insight.GradientMonitor): alarms in plain "
                        "words in the summary, gradient_flow.png in the run folder")
    p.add_argument("--monitor-every", type=positive_int, default=10, metavar="N",
                   help="with --monitor: sample every N optimiser steps")
    p.add_argument("--quiet", action="store_true", help="no progress output, only the final summary")
    p.set_defaults(func=_dispatch)


def _dispatch(args):
    args.resume_checkpoint = None
    if args.resume:
        return _resume(args)
    return run(args)


def _resume(args):
    run_dir = args.resume
    found = [os.path.join(run_dir, n) for n in ("interrupted.safetensors", "checkpoint.safetensors")
             if os.path.isfile(os.path.join(run_dir, n))]
    ckpt = max(found, key=os.path.getmtime) if found else None      # the newer: Ctrl-C's, or the end's
    if not os.path.isfile(os.path.join(run_dir, "config.toml")) or ckpt is None:
        raise ConfigError(f"--resume {run_dir!r}: not a run folder (needs config.toml and checkpoint.safetensors "
                          f"or interrupted.safetensors)")
    if args.config or args.out:
        raise ConfigError("--resume continues a run with its own config and folder; drop CONFIG/--out "
                          "(change the number of epochs with --epochs)")
    args.config, args.resume_checkpoint = os.path.join(run_dir, "config.toml"), ckpt
    args.out = run_dir
    return run(args)
